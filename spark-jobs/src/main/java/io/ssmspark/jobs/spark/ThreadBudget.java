package io.ssmspark.jobs.spark;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * ND4J threads per task in Spark local mode: with local[k] up to k tasks run at once in this JVM, so each gets
 * cores / k threads (at least 1); more would oversubscribe the cores (reference/stack.md measured throughput
 * halving). ND4J reads OMP_NUM_THREADS only at start, so in local mode the budget is set through ND4J's
 * Environment, OpenMP and BLAS settings, which apply to the whole JVM. On a cluster the executors'
 * OMP_NUM_THREADS (cluster-conf templates: = spark.task.cpus) decides instead. Shared by the training job and the
 * DL4J baseline bench.
 */
public final class ThreadBudget {
    private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:\\s*,\\s*\\d+)?])?");

    private ThreadBudget() {}

    /** Threads per task for {@code master} on {@code cores} cores, or 0 when the master is not local. */
    public static int threadsPerTask(String master, int cores) {
        Matcher m = LOCAL.matcher(master.trim());
        if (!m.matches()) {
            return 0;
        }
        String slots = m.group(1);
        int concurrent = slots == null ? 1 : slots.equals("*") ? cores : Integer.parseInt(slots);
        return Math.max(1, cores / Math.max(1, concurrent));
    }

    /** Applies the local-mode budget to ND4J; returns the threads set, or 0 when the master is not local. */
    public static int apply(String master) {
        int threads = threadsPerTask(master, Runtime.getRuntime().availableProcessors());
        if (threads > 0) {
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
        }
        return threads;
    }
}
