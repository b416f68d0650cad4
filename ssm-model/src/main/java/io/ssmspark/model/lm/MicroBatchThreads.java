package io.ssmspark.model.lm;

import io.ssmspark.model.tensor.ParallelParts;
import io.ssmspark.model.tensor.Scratch;
import java.util.List;
import java.util.function.Supplier;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a task's micro-batches up to K at once, one per thread, each inside its thread's step scratch and, in a
 * training pass, into a gradient buffer of its own, and hands the results back in micro-batch order on the
 * calling thread. A sum the caller builds from them in that order is the same, bit for bit, for every K: only
 * the wall time changes, so a task's cores are spent on whole micro-batches (large gemms, no per-op thread
 * hand-offs) instead of on ND4J's per-op threads, which lose to one thread on this model's kernels
 * (bin/ssm-spark, OMP_NUM_THREADS).
 *
 * <p>Micro-batch 0 of each round of K runs on the caller's thread, the others on a JVM-wide pool of daemon
 * threads ({@link ParallelParts}: a round waits for all of its micro-batches before it returns or rethrows the
 * first failure).
 */
public final class MicroBatchThreads implements AutoCloseable {
    /** One micro-batch's work: {@code gradient} is zero on entry (null in a pass without gradients). */
    @FunctionalInterface
    public interface Work<T> {
        T run(int index, INDArray gradient);
    }

    /** What the caller gets back for micro-batch {@code index}, in index order. */
    @FunctionalInterface
    public interface Done<T> {
        void accept(int index, T result, INDArray gradient);
    }

    private static final ParallelParts POOL = new ParallelParts("ssm-micro-batch");

    private final int threads;
    private final INDArray[] gradients;

    /**
     * Up to {@code threads} micro-batches at once; {@code first} is the caller's gradient buffer (null for a pass
     * without gradients), and {@code newGradient} makes the other threads' buffers, once.
     */
    public MicroBatchThreads(int threads, INDArray first, Supplier<INDArray> newGradient) {
        if (threads < 1) {
            throw new IllegalArgumentException("micro-batch threads: expected >= 1 but found " + threads);
        }
        this.threads = threads;
        gradients = new INDArray[threads];
        gradients[0] = first;
        for (int i = 1; i < threads && first != null; i++) {
            gradients[i] = Scratch.outside(newGradient);
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs micro-batches 0..count-1 and calls {@code done} for each, in order, on this thread. */
    public <T> void run(int count, Work<T> work, Done<T> done) {
        for (int first = 0; first < count; first += threads) {
            int round = first;
            int n = Math.min(threads, count - first);
            List<T> results = POOL.run(n, k -> runOne(work, round + k, gradients[k]));
            for (int k = 0; k < n; k++) {
                done.accept(first + k, results.get(k), gradients[k]);
            }
        }
    }

    private static <T> T runOne(Work<T> work, int index, INDArray gradient) {
        if (gradient != null) {
            gradient.assign(0);
        }
        try (Scratch ignored = Scratch.openStep()) {
            return work.run(index, gradient);
        }
    }

    /** Frees the other threads' gradient buffers (the caller's own stays the caller's). */
    @Override
    public void close() {
        for (int i = 1; i < gradients.length; i++) {
            if (gradients[i] != null) {
                gradients[i].close();
                gradients[i] = null;
            }
        }
    }
}
