package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.OutOfMemoryWatch;
import io.ssmspark.jobs.spark.ThreadBudget;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;

/**
 * Runs one {@link WindowPass} over every partition and adds the partition results on the driver into one
 * double-double accumulator in a fixed order, partition 0, 1, 2, ..., never in arrival order. The double-double
 * sums make the total independent of the order and grouping of the additions (below ~1e-30 relative), so the
 * cheapest fixed order is used: a left fold, which needs one accumulator (five doubles per parameter) whatever the
 * number of partitions. Each partition's packed sum is dropped as soon as it is added.
 */
final class DistributedPass {
    private DistributedPass() {}

    /** What a pass added and where its time went. */
    record Outcome(
            ScalarSum loss,
            long windows,
            long tokens,
            long jobNanos,
            long maxTaskNanos,
            long meanTaskNanos,
            long combineNanos,
            long resultBytes,
            AnswerAccuracy.Count answers) {
        double meanLoss() {
            return loss.value() / tokens;
        }
    }

    /**
     * One pass over the windows with ranks [firstRank, endRank); with a {@code gradient} accumulator (a training
     * pass) the partitions' gradient sums are added into it, without one (null) only the loss is computed.
     */
    static Outcome run(
            JavaRDD<Window> windows,
            Broadcast<ModelBlob> parameters,
            long firstRank,
            long endRank,
            CompensatedSum gradient,
            int step,
            int microBatch,
            FaultInjection fault) {
        long start = System.nanoTime();
        ThreadBudget.TaskThreads threads = ThreadBudget.forTasks(
                windows.context(), microBatchesPerTask(endRank - firstRank, microBatch, windows.getNumPartitions()));
        List<PartitionResult> results = new ArrayList<>(OutOfMemoryWatch.run(
                windows.context(),
                () -> windows.mapPartitionsWithIndex(
                                new WindowPass(
                                        parameters,
                                        firstRank,
                                        endRank,
                                        gradient != null,
                                        step,
                                        microBatch,
                                        fault,
                                        threads),
                                false)
                        .collect()));
        return combine(results, gradient, System.nanoTime() - start);
    }

    /** The most micro-batches of {@code windows} windows one of {@code tasks} tasks gets (whole groups, round robin). */
    static long microBatchesPerTask(long windows, int microBatch, int tasks) {
        long groups = (windows + microBatch - 1) / microBatch;
        return (groups + tasks - 1) / Math.max(1, tasks);
    }

    /**
     * Adds the tasks' results in task order (each task's packed gradient into {@code gradient}, dropped once added)
     * into one outcome of a job that took {@code jobNanos}.
     */
    static Outcome combine(List<PartitionResult> results, CompensatedSum gradient, long jobNanos) {
        long combineStart = System.nanoTime();
        results.sort(Comparator.comparingInt(r -> r.partition));
        long maxTask = 0;
        long sumTask = 0;
        long bytes = 0;
        ScalarSum loss = new ScalarSum();
        long windowCount = 0;
        long tokens = 0;
        long answers = 0;
        long answersCorrect = 0;
        int count = results.size();
        for (int i = 0; i < count; i++) {
            PartitionResult r = results.get(i);
            results.set(i, null); // its packed gradient can be collected once added
            maxTask = Math.max(maxTask, r.computeNanos);
            sumTask += r.computeNanos;
            bytes += r.byteSize();
            loss.add(r.loss);
            windowCount += r.windows;
            tokens += r.tokens;
            answers += r.answers;
            answersCorrect += r.answersCorrect;
            if (r.gradient != null) {
                if (gradient == null) {
                    throw new IllegalStateException(
                            "partition " + r.partition + " sent a gradient in an evaluation pass");
                }
                gradient.add(r.gradient);
            }
        }
        return new Outcome(
                loss,
                windowCount,
                tokens,
                jobNanos,
                maxTask,
                count == 0 ? 0 : sumTask / count,
                System.nanoTime() - combineStart,
                bytes,
                new AnswerAccuracy.Count(answers, answersCorrect));
    }
}
