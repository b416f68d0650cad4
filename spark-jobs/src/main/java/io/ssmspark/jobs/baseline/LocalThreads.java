package io.ssmspark.jobs.baseline;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * ND4J threads per task in Spark local mode. With local[k], k tasks share this JVM's cores, so each
 * gets cores / k threads (at least 1); more oversubscribes the cores, which halved the LSTM's
 * throughput here (reference/stack.md). ND4J reads OMP_NUM_THREADS only at start, so the budget is set
 * through its Environment, OpenMP and BLAS settings, which apply to the whole JVM. On a cluster the
 * executors' own OMP_NUM_THREADS decides, and nothing is changed.
 */
final class LocalThreads {
  private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:\\s*,\\s*\\d+)?])?");

  private LocalThreads() {}

  /** Threads per task for {@code master} on {@code cores} cores, or 0 when the master is not local. */
  static int perTask(String master, int cores) {
    Matcher m = LOCAL.matcher(master.trim());
    if (!m.matches()) {
      return 0;
    }
    String slots = m.group(1);
    int concurrent = slots == null ? 1 : slots.equals("*") ? cores : Integer.parseInt(slots);
    return Math.max(1, cores / Math.max(1, concurrent));
  }

  /** Applies the local budget; returns the threads per task, or 0 (nothing changed) off local mode. */
  static int apply(String master) {
    int threads = perTask(master, Runtime.getRuntime().availableProcessors());
    if (threads > 0) {
      Nd4j.getEnvironment().setMaxThreads(threads);
      Nd4j.getEnvironment().setMaxMasterThreads(threads);
      NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
      Nd4j.factory().blas().setMaxThreads(threads);
    }
    return threads;
  }
}
