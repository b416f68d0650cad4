package io.ssmspark.model.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Runs the parts of one computation at once: part 0 on the calling thread, the others on a pool of daemon threads
 * as many as the cores, made when first needed and kept, so per-thread buffers (step scratch, SSD blocks) are
 * reused from call to call. A call waits for every part before it returns or rethrows the first failure (an
 * {@link Error} such as {@link OutOfMemoryError} as itself), so no part still writes into buffers the caller
 * frees; an interrupted caller still waits, and keeps its interrupt.
 */
public final class ParallelParts {
    private final ThreadPoolExecutor pool;

    /** A pool whose threads are named {@code name-1}, {@code name-2}, …. */
    public ParallelParts(String name) {
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
        AtomicInteger count = new AtomicInteger();
        pool = new ThreadPoolExecutor(cores, cores, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code work} for parts 0..n-1 and returns their results in part order. */
    public <T> List<T> run(int n, IntFunction<T> work) {
        List<Future<T>> others = new ArrayList<>(Math.max(0, n - 1));
        for (int k = 1; k < n; k++) {
            int part = k;
            others.add(pool.submit(() -> work.apply(part)));
        }
        Throwable failure = null;
        List<T> results = new ArrayList<>(n);
        try {
            results.add(work.apply(0));
        } catch (RuntimeException | Error e) {
            failure = e;
            results.add(null);
        }
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
        return results;
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
}
