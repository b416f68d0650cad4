package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.train.CompensatedSum;
import io.ssmspark.jobs.train.PackedSum;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.mixer.LayerTimings;
import io.ssmspark.model.mixer.LayerTimings.Part;
import io.ssmspark.model.optim.AdamW;
import io.ssmspark.model.optim.AdamWSettings;
import io.ssmspark.model.optim.LearningRateSchedule;
import io.ssmspark.model.optim.Optimizer;
import io.ssmspark.model.tensor.Scratch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import scala.Tuple2;

/**
 * Measures the {@link MeasuredCosts} on this machine in short runs: the bench model's training step per kind of
 * layer, a shuffle and a broadcast of plain float arrays on the session's master, the driver's gradient fold and
 * optimizer step per element, and a trivial job's round trip.
 */
public final class CostMeasurements {
    /** Floats per shuffled record: 2 MiB each. */
    private static final int RECORD_FLOATS = 1 << 19;
    /** Tries of each Spark measurement, the fastest kept: the machine may be shared. */
    private static final int TRIES = 5;
    /** Elements of the fold and optimizer measurements. */
    private static final int VECTOR_ELEMENTS = 1 << 21;

    private final JavaSparkContext sc;
    private final int slots;

    public CostMeasurements(SparkSession spark) {
        this.sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.slots = spark.sparkContext().defaultParallelism();
    }

    /**
     * All constants: {@code window} tokens per step for the compute, {@code shuffleBytes} through one shuffle,
     * {@code broadcastBytes} in one broadcast; as many bytes of task results as of shuffle.
     */
    public MeasuredCosts measure(int window, long shuffleBytes, long broadcastBytes) {
        MambaConfig config = new TrainStepBench().config();
        StepParts parts = trainingStep(config, window, 2);
        double[] scheduling = scheduling();
        return new MeasuredCosts(
                config.dModel(),
                config.hasMlp() ? config.mlpHidden() : 0,
                config.paddedVocabSize(),
                window,
                parts.perTokenLayer(Part.MAMBA_MIXER) - parts.perTokenLayer(Part.SSD),
                parts.perTokenLayer(Part.SSD),
                parts.perTokenLayer(Part.ATTENTION),
                parts.perTokenLayer(Part.MLP),
                parts.perTokenLayer(Part.NORMS),
                parts.perToken(Part.EMBEDDING_HEAD),
                parts.activationBytes / ((double) window * config.nLayer()),
                shuffleBytesPerSecond(shuffleBytes),
                resultBytesPerSecond(shuffleBytes),
                broadcastSecondsPerByte(broadcastBytes),
                taskGradientSecondsPerElement(),
                foldSecondsPerElement(),
                optimizerSecondsPerElement(),
                scheduling[0],
                scheduling[1],
                GemmPeak.measureGflops());
    }

    /** Seconds per part of {@code steps} timed training steps (after one warm-up) of one window, and its activations. */
    record StepParts(MambaConfig config, int window, int steps, LayerTimings timings, long activationBytes) {
        double seconds(Part part) {
            return (timings.forwardSeconds(part) + timings.backwardSeconds(part)) / steps;
        }

        double perToken(Part part) {
            return seconds(part) / window;
        }

        /** Per token and per layer of the part's kind (the MLP and norms are in every layer). */
        double perTokenLayer(Part part) {
            int attention = config.attnLayerIdx().size();
            int layers = switch (part) {
                case MAMBA_MIXER, SSD -> config.nLayer() - attention;
                case ATTENTION -> attention;
                default -> config.nLayer();
            };
            return layers == 0 ? 0 : perToken(part) / layers;
        }
    }

    /** The bench model's forward, NLL and backward on one window of random tokens, as in {@code bench train-step}. */
    static StepParts trainingStep(MambaConfig config, int window, int steps) {
        HybridLm model = ModelInit.newModel(config, 1, DataType.FLOAT);
        int[][][] inputsAndTargets = randomTokens(config.vocabSize(), window, 2);
        INDArray gradient = model.newGradient();
        double scale = HybridLm.meanScale(window);
        StepParts parts = timedSteps(model, window, steps, () -> {
            gradient.assign(0);
            HybridLm.Forward f = model.forward(inputsAndTargets[0]);
            model.nll(f, inputsAndTargets[1], null);
            model.backward(f, inputsAndTargets[1], null, scale, gradient);
        });
        gradient.close();
        return parts;
    }

    /** {inputs, targets}, each [1][window] random ids below {@code vocab}, from a generator seeded {@code seed}. */
    static int[][][] randomTokens(int vocab, int window, long seed) {
        Random random = new Random(seed);
        int[][][] out = new int[2][1][window];
        for (int t = 0; t < window; t++) {
            out[0][0][t] = random.nextInt(vocab);
            out[1][0][t] = random.nextInt(vocab);
        }
        return out;
    }

    /**
     * {@code step} run once to warm up, then {@code steps} times under the model's per-layer timers, each in a fresh
     * step scope; with the largest scope's bytes.
     */
    static StepParts timedSteps(HybridLm model, int window, int steps, Runnable step) {
        long[] scopeBytes = {0};
        Runnable scoped = () -> {
            try (Scratch scope = Scratch.openStep()) {
                step.run();
                scopeBytes[0] = Math.max(scopeBytes[0], scope.bytesAllocated());
            }
        };
        scoped.run();
        LayerTimings timings = new LayerTimings();
        model.setTimings(timings);
        for (int i = 0; i < steps; i++) {
            scoped.run();
        }
        model.setTimings(null);
        return new StepParts(model.config(), window, steps, timings, scopeBytes[0]);
    }

    /**
     * A shuffle of {@code bytes} of float[] records cached in memory first, one map and one reduce task per slot:
     * (time with the shuffle − time of a pass over the cached records without it) / bytes, the fastest of
     * {@link #TRIES} tries each.
     */
    double shuffleBytesPerSecond(long bytes) {
        int records = (int) Math.max(slots, bytes / (4L * RECORD_FLOATS));
        JavaPairRDD<Integer, float[]> arrays = sc.parallelize(range(records), slots)
                .mapToPair(i -> new Tuple2<>(i, filled(i)))
                .persist(StorageLevel.MEMORY_ONLY());
        try {
            arrays.count();
            int reducers = slots;
            double withoutShuffle =
                    fastest(TRIES, () -> arrays.map(r -> (long) r._2.length).reduce(Long::sum));
            double withShuffle = fastest(
                    TRIES,
                    () -> arrays.partitionBy(new HashPartitioner(reducers))
                            .map(r -> (long) r._2.length)
                            .reduce(Long::sum));
            return 4.0 * records * RECORD_FLOATS / Math.max(withShuffle - withoutShuffle, 1e-3);
        } finally {
            arrays.unpersist(true);
        }
    }

    /**
     * Tasks (one per slot) each returning a {@link PackedSum}, {@code bytes} in all, to the driver's collect, as
     * training tasks return their gradients: (time − a job that builds the same sums and returns their lengths) /
     * bytes, the fastest of {@link #TRIES} tries each.
     */
    double resultBytesPerSecond(long bytes) {
        int entries = (int) (bytes / (TrainProjection.GRADIENT_BYTES * slots));
        List<Integer> tasks = range(slots);
        double lengthsOnly = fastest(
                TRIES,
                () -> sc.parallelize(tasks, slots)
                        .map(i -> packed(entries).length())
                        .collect());
        double collected = fastest(
                TRIES,
                () -> sc.parallelize(tasks, slots).map(i -> packed(entries)).collect());
        return (double) TrainProjection.GRADIENT_BYTES * entries * slots / Math.max(collected - lengthsOnly, 1e-3);
    }

    /**
     * Broadcasting a float[] of {@code bytes} and reading it in one task per slot, per byte: the broadcast call plus
     * the reading job less a trivial job run right after it, the fastest of {@link #TRIES} tries.
     */
    double broadcastSecondsPerByte(long bytes) {
        float[] array = new float[(int) (bytes / 4)];
        Arrays.fill(array, 1.5f);
        List<Integer> tasks = range(slots);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < TRIES; i++) {
            long t0 = System.nanoTime();
            Broadcast<float[]> b = sc.broadcast(array);
            long t1 = System.nanoTime();
            sc.parallelize(tasks, slots).map(t -> b.value().length).reduce(Integer::sum);
            long t2 = System.nanoTime();
            sc.parallelize(tasks, slots).count();
            long t3 = System.nanoTime();
            b.destroy();
            best = Math.min(best, (t1 - t0 + Math.max(0, (t2 - t1) - (t3 - t2))) / 1e9);
        }
        return best / (4.0 * array.length);
    }

    /**
     * What a training task does with its gradient per step besides computing it: {@code CompensatedSum.add} of the
     * float gradient, then {@code pack()} into the 12-byte result, per element.
     */
    static double taskGradientSecondsPerElement() {
        try (INDArray gradient = Nd4j.rand(DataType.FLOAT, VECTOR_ELEMENTS);
                CompensatedSum sum = new CompensatedSum(VECTOR_ELEMENTS)) {
            return BenchTiming.measure(1, 5, () -> {
                                sum.add(gradient);
                                sum.pack();
                            })
                            .medianSeconds()
                    / VECTOR_ELEMENTS;
        }
    }

    /** {@code CompensatedSum.add(PackedSum)}, the driver's fold of one task's gradient, per element. */
    static double foldSecondsPerElement() {
        PackedSum packed = packed(VECTOR_ELEMENTS);
        Random random = new Random(3);
        for (int i = 0; i < VECTOR_ELEMENTS; i++) {
            packed.hi[i] = random.nextGaussian();
            packed.lo[i] = (float) (random.nextGaussian() * 1e-17);
        }
        try (CompensatedSum sum = new CompensatedSum(VECTOR_ELEMENTS)) {
            return BenchTiming.measure(1, 5, () -> sum.add(packed)).medianSeconds() / VECTOR_ELEMENTS;
        }
    }

    /** The driver's optimizer step (gradient-norm clip, then AdamW) on fp32 vectors, per parameter. */
    static double optimizerSecondsPerElement() {
        try (INDArray mask = Nd4j.ones(DataType.FLOAT, VECTOR_ELEMENTS);
                INDArray parameters = Nd4j.rand(DataType.FLOAT, VECTOR_ELEMENTS);
                INDArray gradient = Nd4j.rand(DataType.FLOAT, VECTOR_ELEMENTS)) {
            Optimizer optimizer =
                    new Optimizer(new AdamW(mask, AdamWSettings.defaults()), LearningRateSchedule.constant(1e-3), 1.0);
            return BenchTiming.measure(1, 5, () -> optimizer.step(parameters, gradient))
                            .medianSeconds()
                    / VECTOR_ELEMENTS;
        }
    }

    /**
     * {seconds of a trivial job of one task per slot, seconds per further task}: the median of several count()s
     * of {@code slots} and of 32·slots empty partitions.
     */
    double[] scheduling() {
        List<Integer> few = range(slots);
        List<Integer> many = range(32 * slots);
        double job = BenchTiming.measure(3, 9, () -> sc.parallelize(few, slots).count())
                .medianSeconds();
        double manyTasks = BenchTiming.measure(
                        1, 5, () -> sc.parallelize(many, many.size()).count())
                .medianSeconds();
        return new double[] {job, Math.max(manyTasks - job, 0) / (many.size() - slots)};
    }

    private static double fastest(int tries, Runnable work) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < tries; i++) {
            long t0 = System.nanoTime();
            work.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }

    private static PackedSum packed(int entries) {
        PackedSum p = new PackedSum();
        p.hi = new double[entries];
        p.lo = new float[entries];
        Arrays.fill(p.hi, 1.25);
        Arrays.fill(p.lo, 1e-17f);
        return p;
    }

    private static float[] filled(int seed) {
        float[] a = new float[RECORD_FLOATS];
        Arrays.fill(a, seed);
        return a;
    }

    private static List<Integer> range(int n) {
        return new ArrayList<>(IntStream.range(0, n).boxed().toList());
    }
}
