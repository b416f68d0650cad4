package io.ssmspark.jobs.spark;

import io.ssmspark.model.tensor.KernelThreads;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkContext;
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
            setOpThreads(threads);
        }
        return threads;
    }

    /**
     * Sets the threads of ND4J's own ops and gemms in this JVM: {@code threads} shared by the SSD's kernel threads
     * ({@link KernelThreads}), so each gets threads / kernel threads (at least 1).
     */
    static void setOpThreads(int budget) {
        int threads = perKernelThread(budget);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
    }

    private static int perKernelThread(int budget) {
        return Math.max(1, budget / KernelThreads.threads());
    }

    /**
     * How a training task of {@code microBatchesPerTask} micro-batches spends its cores (local mode: this budget;
     * on a cluster: {@code spark.task.cpus}): up to that many micro-batches at once, the cores left over to each
     * one's ND4J ops.
     */
    public static TaskThreads forTasks(SparkContext sc, long microBatchesPerTask) {
        return forTasks(
                sc.master(),
                Runtime.getRuntime().availableProcessors(),
                sc.getConf().getInt("spark.task.cpus", 1),
                microBatchesPerTask);
    }

    /** {@link #forTasks(SparkContext, long)} for a master, this machine's cores and {@code spark.task.cpus}. */
    static TaskThreads forTasks(String master, int cores, int taskCpus, long microBatchesPerTask) {
        int local = threadsPerTask(master, cores);
        int budget = local > 0 ? local : Math.max(1, taskCpus);
        int concurrent = (int) Math.max(1, Math.min(budget, microBatchesPerTask));
        return new TaskThreads(concurrent, Math.max(1, budget / concurrent), local > 0 || concurrent > 1);
    }

    /**
     * {@code concurrent} micro-batches at once per task, each with {@code opThreads} ND4J threads; {@code setOps}:
     * whether a task sets those (in local mode always; on a cluster only when it runs micro-batches at once, and
     * otherwise the executors' OMP_NUM_THREADS stands).
     */
    public record TaskThreads(int concurrent, int opThreads, boolean setOps) implements java.io.Serializable {
        /** Sets this JVM's ND4J threads for the task (the same value for every task of a pass). */
        public void applyToOps() {
            if (setOps && Nd4j.getEnvironment().maxThreads() != perKernelThread(opThreads)) {
                setOpThreads(opThreads);
            }
        }
    }
}
