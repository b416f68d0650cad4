package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.exchange.ExchangeClient;
import io.ssmspark.jobs.exchange.ExchangeHub;
import io.ssmspark.jobs.spark.ExecutorModels;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.OutOfMemoryWatch;
import io.ssmspark.jobs.spark.TaskOutOfMemory;
import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.parallel.PartTraining;
import io.ssmspark.model.parallel.WindowParts;
import io.ssmspark.model.tensor.Scratch;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.TaskCompletionListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * One pass over the windows with ranks [firstRank, endRank) cut across S tasks each ({@code train
 * --sequence-parallel S}): D data-parallel groups × S parts, the D·S tasks of one Spark barrier stage. Window r of
 * the pass goes to group (r − firstRank) mod D; task g·S + k holds part k ({@link WindowParts#even}) of its group's
 * windows, and runs them in rank order through {@link PartTraining}, gathering with its group's other S − 1 tasks
 * through the driver's {@link ExchangeHub} (each group at its own pace). The tasks' results are then added on the
 * driver exactly as {@link DistributedPass} adds partitions' (double-double, in task order), so the step does not
 * depend on S or D beyond the order of floating-point sums. The barrier stage ends in a shuffle: Spark retries a
 * failed barrier stage (every task of it) only when it is a map stage.
 */
final class SequenceParallelPass {
    private SequenceParallelPass() {}

    /** A pass's outcome, as a data-parallel pass's, and what its exchange cost. */
    record Result(DistributedPass.Outcome outcome, Exchange exchange) {}

    /** What a pass's exchange cost, over all its tasks. */
    record Exchange(long bytesUp, long bytesDown, long maxWaitNanos) {
        /** Both passes' cost (the rounds of one step run one after the other). */
        Exchange plus(Exchange o) {
            return new Exchange(bytesUp + o.bytesUp, bytesDown + o.bytesDown, maxWaitNanos + o.maxWaitNanos);
        }
    }

    /** Task g·S + k's key → its partition. */
    private static final class TaskPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int tasks;

        TaskPartitioner(int tasks) {
            this.tasks = tasks;
        }

        @Override
        public int numPartitions() {
            return tasks;
        }

        @Override
        public int getPartition(Object key) {
            return (Integer) key;
        }
    }

    /**
     * Refuses at once a pass Spark could never start in local mode: its D·S barrier tasks must run at the same time.
     * (On a cluster, Spark's own barrier slot check answers, after its retries.)
     */
    static void requireSlots(JavaSparkContext sc, int groups, int parts) {
        int tasks = groups * parts;
        if (!sc.sc().isLocal()) {
            return;
        }
        int slots =
                sc.sc().maxNumConcurrentTasks(sc.sc().resourceProfileManager().defaultResourceProfile());
        if (tasks > slots) {
            throw new IllegalArgumentException("--sequence-parallel " + parts + " with --partitions " + groups
                    + " runs " + tasks + " barrier tasks at once, but " + sc.master() + " has " + slots
                    + " task slots: use --master local[" + tasks + "], or fewer --partitions or parts");
        }
    }

    static Result run(
            JavaSparkContext sc,
            JavaRDD<Window> windows,
            Broadcast<ModelBlob> parameters,
            long firstRank,
            long endRank,
            CompensatedSum gradient,
            int step,
            int groups,
            int parts,
            int seqLen,
            FaultInjection fault) {
        WindowParts cut = WindowParts.even(seqLen, parts);
        int tasks = groups * parts;
        long start = System.nanoTime();
        List<PartitionResult> results;
        try (ExchangeHub hub = ExchangeHub.start(sc.getConf(), tasks, parts)) {
            JavaPairRDD<Integer, WindowPart> byTask = windows.filter(w -> w.rank >= firstRank && w.rank < endRank)
                    .flatMapToPair(w -> {
                        int group = (int) ((w.rank - firstRank) % groups);
                        List<Tuple2<Integer, WindowPart>> out = new ArrayList<>(parts);
                        for (int k = 0; k < parts; k++) {
                            int from = cut.start(k);
                            out.add(new Tuple2<>(
                                    group * parts + k,
                                    new WindowPart(
                                            w.rank, Arrays.copyOfRange(w.tokens, from, from + cut.length(k) + 1))));
                        }
                        return out.iterator();
                    })
                    .partitionBy(new TaskPartitioner(tasks));
            JavaRDD<PartitionResult> outputs = byTask.values()
                    .rdd()
                    .barrier()
                    .mapPartitions(
                            new PartTask(parameters, cut, hub.address(), gradient != null, step, fault),
                            false,
                            ClassTag$.MODULE$.apply(PartitionResult.class))
                    .toJavaRDD()
                    .mapToPair(r -> new Tuple2<>(r.partition, r))
                    .partitionBy(new TaskPartitioner(tasks))
                    .values();
            try {
                results = new ArrayList<>(OutOfMemoryWatch.run(sc.sc(), outputs::collect));
            } catch (Exception e) { // SparkException is checked but undeclared
                Throwable first = hub.firstFailure(); // the task that broke the stage said why
                if (first instanceof RuntimeException r) {
                    throw r;
                }
                if (first instanceof Error r) {
                    throw r;
                }
                throw e;
            }
        }
        long jobNanos = System.nanoTime() - start;
        results.sort(Comparator.comparingInt(r -> r.partition));
        long up = 0;
        long down = 0;
        long maxWait = 0;
        for (PartitionResult r : results) {
            up += r.exchangeBytesUp;
            down += r.exchangeBytesDown;
            maxWait = Math.max(maxWait, r.exchangeNanos);
        }
        return new Result(DistributedPass.combine(results, gradient, jobNanos), new Exchange(up, down, maxWait));
    }

    /** Each barrier task's work: its part of each of its group's windows, in rank order. */
    private static final class PartTask
            extends AbstractFunction1<scala.collection.Iterator<WindowPart>, scala.collection.Iterator<PartitionResult>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Broadcast<ModelBlob> parameters;
        private final WindowParts cut;
        private final ExchangeHub.Address hub;
        private final boolean gradients;
        private final int step;
        private final FaultInjection fault;

        PartTask(
                Broadcast<ModelBlob> parameters,
                WindowParts cut,
                ExchangeHub.Address hub,
                boolean gradients,
                int step,
                FaultInjection fault) {
            this.parameters = parameters;
            this.cut = cut;
            this.hub = hub;
            this.gradients = gradients;
            this.step = step;
            this.fault = fault;
        }

        @Override
        public scala.collection.Iterator<PartitionResult> apply(scala.collection.Iterator<WindowPart> input) {
            TaskSetup.beforeTask();
            BarrierTaskContext context = BarrierTaskContext.get();
            int task = context.partitionId();
            int part = task % cut.count();
            ExchangeClient exchange =
                    new ExchangeClient(hub, context.stageAttemptNumber(), task, context::isInterrupted);
            context.addTaskCompletionListener((TaskCompletionListener) c -> exchange.close());
            long start = System.nanoTime();
            List<WindowPart> mine = new ArrayList<>();
            JavaConverters.asJavaIterator(input).forEachRemaining(mine::add);
            mine.sort(Comparator.comparingLong(w -> w.rank));
            PartitionResult result = new PartitionResult();
            result.partition = task;
            try {
                HybridLm lm = ExecutorModels.of(parameters);
                try (INDArray gradient = gradients ? lm.newGradient() : null;
                        CompensatedSum sum = gradients ? new CompensatedSum(gradient.length()) : null) {
                    for (WindowPart w : mine) {
                        PartTraining pass = new PartTraining(lm, cut, part, exchange::round);
                        if (gradient != null) {
                            gradient.assign(0);
                        }
                        try (Scratch ignored = Scratch.openStep()) {
                            result.loss.add(pass.run(w.tokens, 1.0, gradient));
                        }
                        if (sum != null) {
                            sum.add(gradient);
                        }
                        result.windows += part == 0 ? 1 : 0; // a window counts once, with its first part
                        result.tokens += cut.length(part);
                        result.exchangeBytesUp += pass.bytesUp();
                        result.exchangeBytesDown += pass.bytesDown();
                        result.exchangeNanos += pass.exchangeNanos();
                        if (fault != null && gradients && context.stageAttemptNumber() == 0) {
                            fault.maybeFail(step, task); // after a window: the other parts wait in the exchange
                        }
                    }
                    if (sum != null && !mine.isEmpty()) {
                        result.gradient = sum.pack();
                    }
                }
                exchange.finish();
            } catch (OutOfMemoryError e) {
                RuntimeException failure = TaskOutOfMemory.of(
                        e,
                        "a task holding part " + part + " of " + cut.count() + ", " + cut.length(part) + " tokens of a"
                                + " window of " + cut.total());
                exchange.failed(failure);
                throw failure;
            } catch (RuntimeException | Error e) {
                exchange.failed(e);
                throw e;
            }
            result.computeNanos = System.nanoTime() - start;
            // A task of a failed stage attempt is killed without an interrupt and computes on; it must not then
            // complete: its output would count for the retried attempt, whose own task of this partition would
            // then never run, and its partner would wait for it forever.
            context.killTaskIfInterrupted();
            return JavaConverters.asScalaIterator(List.of(result).iterator());
        }
    }
}
