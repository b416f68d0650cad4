package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;

/**
 * Runs one {@link WindowPass} over every partition and combines the partition results on the driver in a fixed
 * pairwise tree over partition indices ((0+1)+(2+3))+..., never in arrival order. The driver holds one result
 * per partition (two doubles per parameter each) while it combines.
 */
final class DistributedPass {
  private DistributedPass() {}

  /** The combined result of a pass and where its time went. */
  record Outcome(CompensatedSum gradient, ScalarSum loss, long windows, long tokens, long jobNanos,
      long maxTaskNanos, long meanTaskNanos, long combineNanos, long resultBytes) {
    double meanLoss() {
      return loss.value() / tokens;
    }
  }

  static Outcome run(JavaRDD<Window> windows, Broadcast<FlatParameters> parameters, long firstRank, long endRank,
      boolean gradients, int step, int microBatch, FaultInjection fault) {
    long start = System.nanoTime();
    List<PartitionResult> results = new ArrayList<>(windows
        .mapPartitionsWithIndex(new WindowPass(parameters, firstRank, endRank, gradients, step, microBatch,
            fault), false)
        .collect());
    long jobNanos = System.nanoTime() - start;
    long combineStart = System.nanoTime();
    results.sort(Comparator.comparingInt(r -> r.partition));
    long maxTask = 0;
    long sumTask = 0;
    long bytes = 0;
    List<Partial> level = new ArrayList<>();
    for (PartitionResult r : results) {
      maxTask = Math.max(maxTask, r.computeNanos);
      sumTask += r.computeNanos;
      bytes += r.byteSize();
      level.add(new Partial(r.gradientHi == null ? null : CompensatedSum.of(r.gradientHi, r.gradientLo), r.loss,
          r.windows, r.tokens));
    }
    while (level.size() > 1) {
      List<Partial> next = new ArrayList<>();
      for (int i = 0; i < level.size(); i += 2) {
        next.add(i + 1 < level.size() ? level.get(i).plus(level.get(i + 1)) : level.get(i));
      }
      level = next;
    }
    Partial total = level.get(0);
    return new Outcome(total.gradient, total.loss, total.windows, total.tokens, jobNanos, maxTask,
        results.isEmpty() ? 0 : sumTask / results.size(), System.nanoTime() - combineStart, bytes);
  }

  /** A node of the combining tree. */
  private record Partial(CompensatedSum gradient, ScalarSum loss, long windows, long tokens) {
    Partial plus(Partial right) {
      CompensatedSum g = gradient;
      if (g == null) {
        g = right.gradient;
      } else if (right.gradient != null) {
        g.add(right.gradient);
      }
      ScalarSum l = new ScalarSum();
      l.add(loss);
      l.add(right.loss);
      return new Partial(g, l, windows + right.windows, tokens + right.tokens);
    }
  }
}
