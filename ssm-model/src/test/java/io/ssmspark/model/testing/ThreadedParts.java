package io.ssmspark.model.testing;

import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.parallel.PartExchange;
import io.ssmspark.model.parallel.PartTraining;
import io.ssmspark.model.parallel.WindowParts;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The S parts of a sequence-parallel window run in S threads of this JVM, exchanging through shared memory. */
public final class ThreadedParts {
    private ThreadedParts() {}

    /** The summed NLL of the window's targets and the summed gradient (scale 1; null gradient: not asked). */
    public record Outcome(double nll, INDArray gradient, long bytesDown) {}

    /** An in-memory all-gather among {@code parts} threads. */
    private static final class Exchange {
        private final byte[][] slots;
        private final CyclicBarrier written;
        private final CyclicBarrier read;

        Exchange(int parts) {
            slots = new byte[parts][];
            written = new CyclicBarrier(parts);
            read = new CyclicBarrier(parts);
        }

        PartExchange forPart(int part) {
            return message -> {
                try {
                    slots[part] = message.clone();
                    written.await(60, TimeUnit.SECONDS);
                    byte[][] all = new byte[slots.length][];
                    for (int j = 0; j < slots.length; j++) {
                        all[j] = slots[j].clone();
                    }
                    read.await(60, TimeUnit.SECONDS);
                    return all;
                } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                    written.reset();
                    read.reset();
                    throw new IllegalStateException("part " + part + " lost the in-memory exchange", e);
                }
            };
        }
    }

    public static Outcome run(HybridLm lm, int[] window, WindowParts parts, boolean gradients) throws Exception {
        int s = parts.count();
        Exchange exchange = new Exchange(s);
        ExecutorService pool = Executors.newFixedThreadPool(s);
        try {
            List<Future<Object[]>> results = new ArrayList<>();
            for (int k = 0; k < s; k++) {
                int part = k;
                results.add(pool.submit(() -> {
                    PartTraining t = new PartTraining(lm, parts, part, exchange.forPart(part));
                    INDArray g = gradients ? lm.newGradient() : null;
                    double nll = t.run(
                            java.util.Arrays.copyOfRange(
                                    window, parts.start(part), parts.start(part) + parts.length(part) + 1),
                            1.0,
                            g);
                    return new Object[] {nll, g, t.bytesDown()};
                }));
            }
            double nll = 0;
            INDArray sum = gradients ? lm.newGradient() : null;
            long bytes = 0;
            for (Future<Object[]> f : results) {
                Object[] r;
                try {
                    r = f.get(120, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof Exception c ? c : e;
                }
                nll += (double) r[0];
                if (gradients) {
                    sum.addi((INDArray) r[1]);
                }
                bytes += (long) r[2];
            }
            return new Outcome(nll, sum, bytes);
        } finally {
            pool.shutdownNow();
        }
    }
}
