package io.ssmspark.jobs.spark;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Runs a job that stops at its first task out of memory ({@link TaskOutOfMemory}), with that failure as its error.
 * Retrying such a task only repeats it (the same window on an executor of the same size), and on a cluster the
 * retries take executors down with their cached blocks, so the job would end in fetch failures that name no memory
 * at all. A listener sees the first such task failure, cancels the job, and the caller gets that task's message.
 */
public final class OutOfMemoryWatch {
    private OutOfMemoryWatch() {}

    /** {@code job} (which runs Spark jobs on {@code sc}), stopped at its first task out of memory. */
    public static <T> T run(SparkContext sc, Supplier<T> job) {
        AtomicReference<String> first = new AtomicReference<>();
        SparkListener listener = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.reason() instanceof ExceptionFailure f
                        && TaskOutOfMemory.class.getName().equals(f.className())
                        && first.compareAndSet(null, f.description())) {
                    sc.cancelAllJobs();
                }
            }
        };
        sc.addSparkListener(listener);
        try {
            return job.get();
        } catch (Exception e) { // a failed job's SparkException is checked but undeclared
            String oom = first.get();
            if (oom != null) {
                throw new IllegalStateException("a task ran out of memory: " + oom, e);
            }
            throw e;
        } finally {
            sc.removeSparkListener(listener);
        }
    }
}
