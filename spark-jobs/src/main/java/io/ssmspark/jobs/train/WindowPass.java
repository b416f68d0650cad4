package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.ExecutorModels;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.TaskOutOfMemory;
import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.tensor.Scratch;
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
final class WindowPass implements Function2<Integer, Iterator<Window>, Iterator<PartitionResult>> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<ModelBlob> parameters;
    private final long firstRank;
    private final long endRank;
    private final boolean gradients;
    private final int step;
    private final int microBatch;
    private final FaultInjection fault;

    WindowPass(
            Broadcast<ModelBlob> parameters,
            long firstRank,
            long endRank,
            boolean gradients,
            int step,
            int microBatch,
            FaultInjection fault) {
        this.microBatch = microBatch;
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
        PartitionResult result =
                compute(() -> ExecutorModels.of(parameters), partition, selected, gradients, microBatch);
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
     * model {@code model} gives, which is asked for only when there is a window; a task out of memory fails as
     * {@link TaskOutOfMemory} naming the task's share.
     */
    static PartitionResult compute(
            Supplier<HybridLm> model, int partition, List<Window> selected, boolean gradients, int microBatch) {
        PartitionResult result = new PartitionResult();
        result.partition = partition;
        try {
            if (!selected.isEmpty()) {
                addAll(model.get(), selected, gradients, microBatch, result);
            }
        } catch (OutOfMemoryError e) {
            throw TaskOutOfMemory.of(
                    e,
                    "a task of " + selected.size() + " windows of " + (selected.get(0).tokens.length - 1)
                            + " tokens in micro-batches of " + microBatch);
        }
        return result;
    }

    private static void addAll(
            HybridLm lm, List<Window> selected, boolean gradients, int microBatch, PartitionResult result) {
        // Native buffers are freed when the task is done with them, not when the executor's GC runs.
        try (INDArray gradient = gradients ? lm.newGradient() : null;
                CompensatedSum sum = gradients ? new CompensatedSum(gradient.length()) : null) {
            int from = 0;
            while (from < selected.size()) {
                long group = selected.get(from).rank / microBatch;
                int to = from;
                while (to < selected.size() && selected.get(to).rank / microBatch == group) {
                    to++;
                }
                addGroup(lm, selected.subList(from, to), gradient, sum, result);
                from = to;
            }
            if (sum != null) {
                result.gradient = sum.pack();
            }
        }
    }

    /** One micro-batch: forward, NLL and (in a training pass) the gradient of its NLL sum. */
    private static void addGroup(
            HybridLm lm, List<Window> group, INDArray gradient, CompensatedSum sum, PartitionResult result) {
        int length = group.get(0).tokens.length - 1;
        int[][] inputs = new int[group.size()][];
        int[][] targets = new int[group.size()][];
        for (int i = 0; i < group.size(); i++) {
            inputs[i] = Arrays.copyOfRange(group.get(i).tokens, 0, length);
            targets[i] = Arrays.copyOfRange(group.get(i).tokens, 1, length + 1);
        }
        if (gradient != null) {
            gradient.assign(0);
        }
        // the micro-batch's activations live in this thread's reused step block (see Scratch)
        try (Scratch ignored = Scratch.openStep()) {
            HybridLm.Forward forward = lm.forward(inputs);
            result.loss.add(lm.nll(forward, targets, null).sum());
            if (gradient != null) {
                lm.backward(forward, targets, null, 1.0, gradient);
            } else if (group.get(0).answers != null) {
                AnswerAccuracy.Count count =
                        AnswerAccuracy.count(forward.logits(), targets, targetAnswers(group, length));
                result.answers += count.answers();
                result.answersCorrect += count.correct();
            }
        }
        if (gradient != null) {
            sum.add(gradient);
        }
        result.windows += group.size();
        result.tokens += (long) length * group.size();
    }

    /** Whether each target (token 1..T of each window) is an answer. */
    private static boolean[][] targetAnswers(List<Window> group, int length) {
        boolean[][] answers = new boolean[group.size()][];
        for (int i = 0; i < group.size(); i++) {
            answers[i] = Arrays.copyOfRange(group.get(i).answers, 1, length + 1);
        }
        return answers;
    }
}
