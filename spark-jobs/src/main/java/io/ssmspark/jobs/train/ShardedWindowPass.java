package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.ExecutorModels;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.jobs.spark.ThreadBudget;
import io.ssmspark.model.lm.HybridLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.nd4j.linalg.api.buffer.DataType;
import scala.Tuple2;

/**
 * The task of one step's passes in the sharded reduce: its partition's windows of each accumulation round (the
 * same windows, micro-batches and sums as {@link WindowPass}), under the parameters it assembles from the
 * reducers' {@link ParameterSlice}s (once per JVM and parameter version, as a broadcast would be). Each round's
 * packed gradient sum leaves cut into the shards of {@link ShardLayout}, keyed by shard, and the round's summary
 * goes to shard 0; an evaluation pass sends only the summaries.
 */
final class ShardedWindowPass
        implements FlatMapFunction2<Iterator<Window>, Iterator<ParameterSlice>, Tuple2<Integer, GradientSlice>> {
    private static final long serialVersionUID = 1L;
    private final String configJson;
    private final String modelKey;
    private final ShardLayout layout;
    private final DataType dtype;
    private final long[] firstRanks;
    private final int windowsPerRound;
    private final boolean gradients;
    private final int step;
    private final int microBatch;
    private final FaultInjection fault;
    private final ThreadBudget.TaskThreads threads;

    /**
     * @param modelKey names the parameter version (run and update count), under which an executor keeps the model
     * @param firstRanks the first window rank of each accumulation round; round r takes [firstRanks[r],
     *     firstRanks[r] + windowsPerRound)
     */
    ShardedWindowPass(
            String configJson,
            String modelKey,
            ShardLayout layout,
            DataType dtype,
            long[] firstRanks,
            int windowsPerRound,
            boolean gradients,
            int step,
            int microBatch,
            FaultInjection fault,
            ThreadBudget.TaskThreads threads) {
        this.threads = threads;
        this.configJson = configJson;
        this.modelKey = modelKey;
        this.layout = layout;
        this.dtype = dtype;
        this.firstRanks = firstRanks.clone();
        this.windowsPerRound = windowsPerRound;
        this.gradients = gradients;
        this.step = step;
        this.microBatch = microBatch;
        this.fault = fault;
    }

    @Override
    public Iterator<Tuple2<Integer, GradientSlice>> call(Iterator<Window> windows, Iterator<ParameterSlice> slices) {
        TaskSetup.beforeTask();
        int partition = TaskContext.getPartitionId();
        if (fault != null && gradients) {
            fault.maybeFail(step, partition);
        }
        long lowest = Arrays.stream(firstRanks).min().orElse(0);
        long highest = Arrays.stream(firstRanks).max().orElse(0) + windowsPerRound;
        List<Window> mine = WindowPass.select(windows, lowest, highest);
        threads.applyToOps();
        List<Tuple2<Integer, GradientSlice>> out = new ArrayList<>();
        for (int round = 0; round < firstRanks.length; round++) {
            long start = System.nanoTime();
            long first = firstRanks[round];
            List<Window> selected = mine.stream()
                    .filter(w -> w.rank >= first && w.rank < first + windowsPerRound)
                    .toList();
            PartitionResult result = WindowPass.compute(
                    () -> ExecutorModels.of(modelKey, () -> assemble(slices)),
                    partition,
                    selected,
                    gradients,
                    microBatch,
                    threads.concurrent());
            if (result.gradient != null) {
                for (int shard = 0; shard < layout.shards(); shard++) {
                    PackedSum part = result.gradient.slice((int) layout.start(shard), (int) layout.end(shard));
                    out.add(new Tuple2<>(shard, GradientSlice.of(round, partition, part)));
                }
                result.gradient = null;
            }
            result.computeNanos = System.nanoTime() - start;
            out.add(new Tuple2<>(0, GradientSlice.summary(round, result)));
        }
        return out.iterator();
    }

    /** The model over the whole parameter vector, put together from every shard's slice. */
    private HybridLm assemble(Iterator<ParameterSlice> slices) {
        List<ParameterSlice> all = new ArrayList<>();
        slices.forEachRemaining(all::add);
        all.sort(Comparator.comparingInt(s -> s.shard));
        if (all.size() != layout.shards()) {
            throw new IllegalStateException("the parameter shuffle brought " + all.size() + " shards to partition "
                    + TaskContext.getPartitionId() + " but the model has " + layout.shards());
        }
        ModelBlob blob = new ModelBlob();
        blob.configJson = configJson;
        Object target;
        if (dtype == DataType.DOUBLE) {
            blob.doubles = new double[(int) layout.length()];
            target = blob.doubles;
        } else {
            blob.floats = new float[(int) layout.length()];
            target = blob.floats;
        }
        for (int k = 0; k < all.size(); k++) {
            ParameterSlice s = all.get(k);
            if (s.shard != k || s.values.length() != layout.size(k)) {
                throw new IllegalStateException("parameter shard " + s.shard + " of " + s.values.length()
                        + " entries arrived where shard " + k + " of " + layout.size(k) + " belongs");
            }
            s.values.copyInto(target, (int) layout.start(k));
        }
        return blob.newModel();
    }
}
