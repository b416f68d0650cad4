package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.ExecutorModels;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.TaskOutOfMemory;
import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.jobs.spark.ThreadBudget;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.MicroBatchThreads;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.function.Supplier;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The task of one pass over the windows whose rank lies in [firstRank, endRank). They are taken in rank order in
 * micro-batches of the ranks with the same r / M (whole on this partition, see {@link io.ssmspark.data.GroupPartitioner}): the
 * forward on tokens[0..T-1] and the NLL of tokens[1..T]; in a training pass also the gradient of the micro-batch's
 * NLL sum (scale 1), added to a double-double sum. A micro-batch's contribution therefore does not depend on which
 * other windows share its partition. An evaluation pass over windows with answer flags also counts the answers the
 * model's argmax gets right ({@link AnswerAccuracy}).
 */
public final class WindowPass implements Function2<Integer, Iterator<Window>, Iterator<PartitionResult>> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<ModelBlob> parameters;
    private final long firstRank;
    private final long endRank;
    private final boolean gradients;
    private final int step;
    private final int microBatch;
    private final FaultInjection fault;
    private final ThreadBudget.TaskThreads threads;

    WindowPass(
            Broadcast<ModelBlob> parameters,
            long firstRank,
            long endRank,
            boolean gradients,
            int step,
            int microBatch,
            FaultInjection fault,
            ThreadBudget.TaskThreads threads) {
        this.microBatch = microBatch;
        this.threads = threads;
        this.parameters = parameters;
        this.firstRank = firstRank;
        this.endRank = endRank;
        this.gradients = gradients;
        this.step = step;
        this.fault = fault;
    }

    @Override
    public Iterator<PartitionResult> call(Integer partition, Iterator<Window> windows) {
        TaskSetup.beforeTask();
        if (fault != null && gradients) {
            fault.maybeFail(step, partition);
        }
        long start = System.nanoTime();
        List<Window> selected = select(windows, firstRank, endRank);
        threads.applyToOps();
        PartitionResult result = compute(
                () -> ExecutorModels.of(parameters), partition, selected, gradients, microBatch, threads.concurrent());
        result.computeNanos = System.nanoTime() - start;
        return List.of(result).iterator();
    }

    /** The windows ranked in [firstRank, endRank), in rank order. */
    static List<Window> select(Iterator<Window> windows, long firstRank, long endRank) {
        List<Window> selected = new ArrayList<>();
        windows.forEachRemaining(w -> {
            if (w.rank >= firstRank && w.rank < endRank) {
                selected.add(w);
            }
        });
        selected.sort(Comparator.comparingLong(w -> w.rank));
        return selected;
    }

    /**
     * The NLL (and with {@code gradients} the packed gradient sum) of {@code selected} (in rank order) under the
     * model {@code model} gives, which is asked for only when there is a window, with up to {@code concurrent}
     * micro-batches at once (the sums do not depend on it); a task out of memory fails as {@link TaskOutOfMemory}
     * naming the task's share.
     */
    public static PartitionResult compute(
            Supplier<HybridLm> model,
            int partition,
            List<Window> selected,
            boolean gradients,
            int microBatch,
            int concurrent) {
        PartitionResult result = new PartitionResult();
        result.partition = partition;
        try {
            if (!selected.isEmpty()) {
                addAll(model.get(), selected, gradients, microBatch, concurrent, result);
            }
        } catch (OutOfMemoryError e) {
            throw TaskOutOfMemory.of(
                    e,
                    "a task of " + selected.size() + " windows of " + (selected.get(0).tokens.length - 1)
                            + " tokens in micro-batches of " + microBatch
                            + (concurrent > 1 ? ", " + concurrent + " at once" : ""));
        }
        return result;
    }

    private static void addAll(
            HybridLm lm,
            List<Window> selected,
            boolean gradients,
            int microBatch,
            int concurrent,
            PartitionResult result) {
        List<List<Window>> groups = new ArrayList<>();
        int from = 0;
        while (from < selected.size()) {
            long group = selected.get(from).rank / microBatch;
            int to = from;
            while (to < selected.size() && selected.get(to).rank / microBatch == group) {
                to++;
            }
            groups.add(selected.subList(from, to));
            from = to;
        }
        // Native buffers are freed when the task is done with them, not when the executor's GC runs.
        try (INDArray gradient = gradients ? lm.newGradient() : null;
                CompensatedSum sum = gradients ? new CompensatedSum(gradient.length()) : null;
                MicroBatchThreads threads =
                        new MicroBatchThreads(Math.min(concurrent, groups.size()), gradient, lm::newGradient)) {
            threads.run(groups.size(), (i, g) -> group(lm, groups.get(i), g), (i, r, g) -> {
                // in rank order, whichever thread computed them
                result.loss.add(r.loss());
                result.answers += r.answers();
                result.answersCorrect += r.answersCorrect();
                result.windows += r.windows();
                result.tokens += r.tokens();
                if (g != null) {
                    sum.add(g);
                }
            });
            if (sum != null) {
                result.gradient = sum.pack();
            }
        }
    }

    /**
     * One micro-batch, in the step scratch of the thread running it: forward, NLL and (with a gradient buffer, zero
     * on entry) the gradient of its NLL sum; without one, answer counts when the windows have answers.
     */
    private static GroupResult group(HybridLm lm, List<Window> group, INDArray gradient) {
        int length = group.get(0).tokens.length - 1;
        int[][] inputs = new int[group.size()][];
        int[][] targets = new int[group.size()][];
        for (int i = 0; i < group.size(); i++) {
            inputs[i] = Arrays.copyOfRange(group.get(i).tokens, 0, length);
            targets[i] = Arrays.copyOfRange(group.get(i).tokens, 1, length + 1);
        }
        HybridLm.Forward forward = lm.forward(inputs);
        double loss = lm.nll(forward, targets, null).sum();
        long answers = 0;
        long correct = 0;
        if (gradient != null) {
            lm.backward(forward, targets, null, 1.0, gradient);
        } else if (group.get(0).answers != null) {
            AnswerAccuracy.Count count = AnswerAccuracy.count(forward.logits(), targets, targetAnswers(group, length));
            answers = count.answers();
            correct = count.correct();
        }
        return new GroupResult(loss, answers, correct, group.size(), (long) length * group.size());
    }

    /** What one micro-batch adds to its task's result. */
    private record GroupResult(double loss, long answers, long answersCorrect, int windows, long tokens) {}

    /** Whether each target (token 1..T of each window) is an answer. */
    private static boolean[][] targetAnswers(List<Window> group, int length) {
        boolean[][] answers = new boolean[group.size()][];
        for (int i = 0; i < group.size(); i++) {
            answers[i] = Arrays.copyOfRange(group.get(i).answers, 1, length + 1);
        }
        return answers;
    }
}
