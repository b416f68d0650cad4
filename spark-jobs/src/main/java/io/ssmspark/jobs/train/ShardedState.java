package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.OutOfMemoryWatch;
import io.ssmspark.jobs.spark.SparkCleanup;
import io.ssmspark.jobs.spark.ThreadBudget;
import io.ssmspark.model.checkpoint.SafeTensorsDType;
import io.ssmspark.model.checkpoint.SafeTensorsWriter;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.optim.AdamWSettings;
import io.ssmspark.model.optim.AdamWState;
import io.ssmspark.model.optim.ClipResult;
import io.ssmspark.model.optim.GradientClipping;
import io.ssmspark.model.optim.LearningRateSchedule;
import io.ssmspark.model.optim.SquareSum;
import io.ssmspark.model.optim.StepReport;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import scala.Tuple2;

/**
 * The parameters and AdamW state in K shards on the executors (ZeRO-1), one cached RDD partition each. A step:
 *
 * <ol>
 *   <li>every shard's parameters go to every training task through a shuffle (the block manager, not the
 *       driver), where the task assembles the model once per JVM ({@link ShardedWindowPass});
 *   <li>each task's packed gradient sum of each accumulation round goes, cut into shards, through a second
 *       shuffle to reducer k, which adds the slices in (round, partition) order and divides by the token count
 *       ({@link ShardReducer});
 *   <li>the driver collects only each shard's sum of squares and the tasks' summaries, combines the norm in
 *       shard order and clips;
 *   <li>each shard applies the clip scale and AdamW to its parameters and moments ({@link ShardUpdate}).
 * </ol>
 *
 * Every entry goes through the same additions and the same element-wise update as on {@link DriverState}, so the
 * parameters are the same bits; the driver receives a few hundred bytes per shard and task instead of 12 bytes
 * per parameter per task. The state is cached on the executors ({@code MEMORY_AND_DISK}, two replicas on a
 * cluster) and its lineage cut at every update (a local checkpoint): an executor lost with both replicas stops
 * the run, which resumes from its last checkpoint.
 */
final class ShardedState implements TrainingState {
    private final JavaSparkContext sc;
    private final String configJson;
    private final ShardLayout layout;
    private final DataType dtype;
    private final TrainConfig config;
    private final AdamWSettings settings;
    private final LearningRateSchedule schedule;
    private final FaultInjection fault;
    private final StorageLevel level;
    /** Names this run's parameter versions in the executors' model caches. */
    private final String runKey = UUID.randomUUID().toString();

    private JavaRDD<OptimizerShard> state;
    private long updates;
    private JavaRDD<ReducedShard> waiting;
    private SquareSum waitingSquares;
    private int waitingStep;

    /**
     * Cuts {@code parameters} and {@code optimizer} (null: a fresh AdamW) into {@code shards} shards and places
     * them on the executors; the driver keeps nothing of them.
     */
    ShardedState(
            JavaSparkContext sc,
            String configJson,
            INDArray parameters,
            AdamWState optimizer,
            int shards,
            AdamWSettings settings,
            LearningRateSchedule schedule,
            TrainConfig config,
            FaultInjection fault) {
        this.sc = sc;
        this.configJson = configJson;
        this.layout = new ShardLayout(parameters.length(), shards);
        this.dtype = config.dataType();
        this.config = config;
        this.settings = settings;
        this.schedule = schedule;
        this.fault = fault;
        this.level = sc.isLocal() ? StorageLevel.MEMORY_AND_DISK() : StorageLevel.MEMORY_AND_DISK_2();
        this.updates = optimizer == null ? 0 : optimizer.step();
        List<OptimizerShard> initial = new ArrayList<>();
        for (int k = 0; k < shards; k++) {
            INDArray p = slice(parameters, k);
            INDArray m = optimizer == null ? Nd4j.zeros(dtype, layout.size(k)) : slice(optimizer.m(), k);
            INDArray v = optimizer == null ? Nd4j.zeros(dtype, layout.size(k)) : slice(optimizer.v(), k);
            initial.add(new OptimizerShard(k, updates, FlatValues.of(p), FlatValues.of(m), FlatValues.of(v)));
        }
        this.state = materialize(sc.parallelize(initial, shards));
    }

    private INDArray slice(INDArray vector, int shard) {
        INDArray flat = vector.reshape(vector.length());
        return flat.get(NDArrayIndex.interval(layout.start(shard), layout.end(shard)))
                .castTo(dtype);
    }

    /** Caches {@code shards} on the executors, cuts its lineage and computes it now. */
    private JavaRDD<OptimizerShard> materialize(JavaRDD<OptimizerShard> shards) {
        JavaRDD<OptimizerShard> placed = shards.persist(level);
        placed.rdd().localCheckpoint();
        long count = OutOfMemoryWatch.run(sc.sc(), placed::count);
        if (count != layout.shards()) {
            throw new IllegalStateException(
                    "the optimizer state has " + count + " shards, expected " + layout.shards());
        }
        return placed;
    }

    /** The current parameters, every shard to every one of {@code tasks} tasks, through a shuffle. */
    private JavaRDD<ParameterSlice> parametersFor(int tasks) {
        return state.flatMapToPair(s -> {
                    List<Tuple2<Integer, ParameterSlice>> copies = new ArrayList<>(tasks);
                    ParameterSlice slice = new ParameterSlice(s.shard, s.parameters);
                    for (int t = 0; t < tasks; t++) {
                        copies.add(new Tuple2<>(t, slice));
                    }
                    return copies.iterator();
                })
                .partitionBy(new HashPartitioner(tasks))
                .values();
    }

    private ShardedWindowPass pass(long[] firstRanks, int windowsPerRound, boolean gradients, int step, int tasks) {
        return new ShardedWindowPass(
                configJson,
                "sharded/" + runKey + "/" + updates,
                layout,
                dtype,
                firstRanks,
                windowsPerRound,
                gradients,
                step,
                config.microBatch,
                gradients ? fault : null,
                ThreadBudget.forTasks(
                        sc.sc(), DistributedPass.microBatchesPerTask(windowsPerRound, config.microBatch, tasks)));
    }

    @Override
    public StepPasses gradients(
            JavaRDD<Window> windows, long[] firstRanks, int windowsPerRound, long tokens, int step) {
        discard();
        long start = System.nanoTime();
        int tasks = windows.getNumPartitions();
        JavaPairRDD<Integer, GradientSlice> slices = windows.zipPartitions(
                        parametersFor(tasks), pass(firstRanks, windowsPerRound, true, step, tasks))
                .mapToPair(t -> t)
                .partitionBy(new HashPartitioner(layout.shards()));
        JavaRDD<ReducedShard> reduced = slices.mapPartitions(new ShardReducer(layout, dtype, tokens, step, fault), true)
                .persist(level);
        List<ReducedShard> reports;
        try {
            reports = new ArrayList<>(OutOfMemoryWatch.run(
                    sc.sc(), () -> reduced.map(ReducedShard::report).collect()));
        } catch (RuntimeException | Error e) {
            SparkCleanup.unpersist(reduced);
            throw e;
        }
        long jobNanos = System.nanoTime() - start;
        reports.sort(Comparator.comparingInt(r -> r.shard));
        SquareSum squares = SquareSum.ZERO;
        long gradientBytes = 0;
        long maxReducer = 0;
        List<GradientSlice> summaries = List.of();
        for (ReducedShard r : reports) {
            squares = squares.plus(r.squares()); // in shard order
            gradientBytes += r.bytesIn;
            maxReducer = Math.max(maxReducer, r.reduceNanos);
            if (r.shard == 0) {
                summaries = r.summaries;
            }
        }
        List<DistributedPass.Outcome> rounds = new ArrayList<>();
        for (int round = 0; round < firstRanks.length; round++) {
            int r = round;
            List<PartitionResult> results = new ArrayList<>();
            summaries.stream().filter(s -> s.round == r).forEach(s -> results.add(s.summary));
            rounds.add(DistributedPass.combine(results, null, jobNanos / firstRanks.length));
        }
        waiting = reduced;
        waitingSquares = squares;
        waitingStep = step;
        long driverBytes = 64L * (reports.size() + summaries.size());
        return new StepPasses(
                rounds,
                0,
                (long) tasks * layout.length() * dtype.width(),
                driverBytes,
                null,
                new Reduce(layout.shards(), gradientBytes, maxReducer));
    }

    @Override
    public StepReport update() {
        if (waiting == null) {
            throw new IllegalStateException("no gradient waits for an update");
        }
        try {
            ClipResult clip = GradientClipping.forNorm(Math.sqrt(waitingSquares.value()), config.maxGradNorm);
            if (!clip.finite()) {
                return new StepReport(updates, Double.NaN, clip, false);
            }
            double lr = schedule.lr(updates);
            JavaRDD<OptimizerShard> before = state;
            state = materialize(before.zipPartitions(
                    waiting, new ShardUpdate(configJson, layout, dtype, settings, clip.scale(), lr)));
            SparkCleanup.unpersist(before);
            updates++;
            return new StepReport(updates, lr, clip, true);
        } finally {
            discard();
        }
    }

    @Override
    public void discard() {
        if (waiting != null) {
            SparkCleanup.unpersist(waiting);
            waiting = null;
            waitingSquares = null;
        }
    }

    @Override
    public DistributedPass.Outcome evaluate(JavaRDD<Window> validation, long windows, int step) {
        long start = System.nanoTime();
        int tasks = validation.getNumPartitions();
        List<PartitionResult> results = new ArrayList<>();
        for (Tuple2<Integer, GradientSlice> t : OutOfMemoryWatch.run(
                sc.sc(),
                () -> validation
                        .zipPartitions(parametersFor(tasks), pass(new long[] {0}, (int) windows, false, step, tasks))
                        .collect())) {
            results.add(t._2.summary);
        }
        return DistributedPass.combine(results, null, System.nanoTime() - start);
    }

    @Override
    public void save(
            RunFiles files, String target, MambaConfig model, long step, TrainConfig run, long epoch, byte[] tokenizer)
            throws IOException {
        try (INDArray parameters = parameters()) {
            TrainingCheckpoint.write(
                    files, target, model, parameters, updates, this::writeOptimizerFile, step, run, epoch, tokenizer);
        }
    }

    /**
     * The optimizer file {@link AdamWState#write} would write, streamed: its header, then m and v shard by shard as
     * the driver fetches them one at a time, so the driver never holds the state whole.
     */
    private void writeOptimizerFile(OutputStream out) throws IOException {
        SafeTensorsDType type = dtype == DataType.DOUBLE ? SafeTensorsDType.F64 : SafeTensorsDType.F32;
        SortedMap<String, long[]> shapes = new TreeMap<>();
        shapes.put(AdamWState.M, new long[] {layout.length()});
        shapes.put(AdamWState.V, new long[] {layout.length()});
        SafeTensorsWriter.writeHeader(out, shapes, Map.of(AdamWState.STEP, Long.toString(updates)), type);
        for (String name : shapes.keySet()) { // name order, as the header lays them out
            JavaRDD<FlatValues> part = name.equals(AdamWState.M) ? state.map(s -> s.m) : state.map(s -> s.v);
            Iterator<FlatValues> shards = part.toLocalIterator();
            while (shards.hasNext()) {
                try (INDArray values = shards.next().toArray()) {
                    SafeTensorsWriter.writeValues(out, values, type);
                }
            }
        }
        out.flush();
    }

    @Override
    public INDArray parameters() {
        INDArray all = Nd4j.create(dtype, layout.length());
        Iterator<OptimizerShard> shards = state.toLocalIterator();
        while (shards.hasNext()) {
            OptimizerShard s = shards.next();
            try (INDArray values = s.parameters.toArray()) {
                all.get(NDArrayIndex.interval(layout.start(s.shard), layout.end(s.shard)))
                        .assign(values);
            }
        }
        return all;
    }

    @Override
    public long parameterCount() {
        return layout.length();
    }

    @Override
    public String describe() {
        return "gradients reduced and AdamW applied in " + layout.shards()
                + " shards on the executors (--reduce sharded)";
    }

    @Override
    public void close() {
        discard();
        SparkCleanup.unpersist(state);
    }
}
