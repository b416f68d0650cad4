package io.ssmspark.model.lm;

import io.ssmspark.model.tensor.Scratch;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * threads. A round waits for all of its micro-batches before it returns or rethrows the first failure (an
 * {@link OutOfMemoryError} stays one), so no thread still writes into buffers the caller frees.
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

    private static final ThreadPoolExecutor POOL = pool();

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
            int n = Math.min(threads, count - first);
            List<Future<T>> others = new ArrayList<>(n - 1);
            for (int k = 1; k < n; k++) {
                int index = first + k;
                INDArray gradient = gradients[k];
                others.add(POOL.submit(() -> runOne(work, index, gradient)));
            }
            Throwable failure = null;
            T own = null;
            try {
                own = runOne(work, first, gradients[0]);
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            List<T> results = new ArrayList<>(n);
            results.add(own);
            for (Future<T> f : others) {
                try {
                    results.add(awaitUninterruptibly(f));
                } catch (ExecutionException e) {
                    failure = failure == null ? e.getCause() : failure;
                    results.add(null);
                }
            }
            if (failure instanceof Error error) {
                throw error;
            }
            if (failure != null) {
                throw failure instanceof RuntimeException r ? r : new IllegalStateException(failure);
            }
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

    /** Waits for {@code f} even when this thread is interrupted (a killed task), keeping the interrupt. */
    private static <T> T awaitUninterruptibly(Future<T> f) throws ExecutionException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
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

    /** As many threads as cores, made when first needed and kept, so their step scratch blocks are reused. */
    private static ThreadPoolExecutor pool() {
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
        AtomicInteger count = new AtomicInteger();
        ThreadPoolExecutor pool =
                new ThreadPoolExecutor(cores, cores, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "ssm-micro-batch-" + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        return pool;
    }
}
