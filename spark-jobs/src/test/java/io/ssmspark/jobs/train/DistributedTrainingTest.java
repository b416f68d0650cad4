package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.SourceData;
import io.ssmspark.data.Sources;
import io.ssmspark.data.TrainingWindows;
import io.ssmspark.data.Window;
import io.ssmspark.data.WindowOptions;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.optim.AdamW;
import io.ssmspark.model.optim.AdamWSettings;
import io.ssmspark.model.optim.LearningRateSchedule;
import io.ssmspark.model.optim.Optimizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The distributed step equals a plain single-process loop over the same global batches, for 1, 2, 3 and 4
 * partitions, in float32 and float64; runs are reproducible; gradient accumulation and a retried task change
 * nothing.
 */
class DistributedTrainingTest {
    private static SparkSession spark;
    private static MambaConfig model;

    @TempDir
    static Path dir;

    private static Path modelFile;

    /** Other test classes start their own SparkContext; only one may run per JVM. */
    @AfterAll
    static void stop() {
        spark.stop();
    }

    @BeforeAll
    static void start() throws IOException {
        spark = TrainTestSupport.spark();
        model = TrainTestSupport.tinyModel();
        modelFile = TrainTestSupport.writeModel(dir, model);
    }

    private static Trainer.Result train(TrainConfig run) throws IOException {
        return new Trainer(spark).train(run);
    }

    /**
     * The reference: one process, the windows of each step in rank order, in micro-batches of M consecutive ranks,
     * each micro-batch's gradient (scale 1) added into a double-double sum, divided by the token count, then clip + AdamW, as in the run's defaults.
     */
    private static INDArray referenceLoop(TrainConfig run) throws IOException {
        return referenceLoop(run, model);
    }

    /** {@link #referenceLoop(TrainConfig)} for the model {@code model}. */
    private static INDArray referenceLoop(TrainConfig run, MambaConfig model) throws IOException {
        TrainConfig c = run.withDefaults();
        DataType dtype = c.dataType();
        SourceData data = Sources.read(spark, c.data, ReadOptions.defaults());
        List<Window> windows = new ArrayList<>(TrainingWindows.build(
                        data,
                        WindowOptions.of(c.seqLen)
                                .withValidationFraction(c.validationFraction)
                                .withSeed(c.seed)
                                .withEpoch(0)
                                .withPartitions(1))
                .train()
                .collect());
        windows.sort(Comparator.comparingLong(w -> w.rank));
        INDArray parameters = ModelInit.initialize(model, c.seed, dtype);
        HybridLm lm = new HybridLm(model, parameters);
        Optimizer optimizer = new Optimizer(
                new AdamW(
                        CheckpointSchema.of(model),
                        dtype,
                        AdamWSettings.defaults().withWeightDecay(c.weightDecay)),
                new LearningRateSchedule(c.lr, c.minLr, c.warmup, c.steps),
                c.maxGradNorm);
        assertTrue(windows.size() >= c.steps * c.globalBatch, "epoch 0 covers the test's steps");
        for (int s = 0; s < c.steps; s++) {
            CompensatedSum sum = new CompensatedSum(parameters.length());
            long tokens = 0;
            List<Window> batch = windows.subList(s * c.globalBatch, (s + 1) * c.globalBatch);
            for (int g = 0; g < batch.size(); g += c.microBatch) { // micro-batches of M consecutive ranks
                List<Window> group = batch.subList(g, g + c.microBatch);
                int[][] in = new int[group.size()][];
                int[][] target = new int[group.size()][];
                for (int i = 0; i < group.size(); i++) {
                    in[i] = Arrays.copyOfRange(group.get(i).tokens, 0, c.seqLen);
                    target[i] = Arrays.copyOfRange(group.get(i).tokens, 1, c.seqLen + 1);
                }
                INDArray g1 = lm.newGradient();
                lm.backward(lm.forward(in), target, null, 1.0, g1);
                sum.add(g1);
                tokens += (long) c.seqLen * group.size();
            }
            assertTrue(optimizer
                    .step(parameters, sum.total().divi(tokens).castTo(dtype))
                    .applied());
        }
        return parameters;
    }

    private void partitionCountsAgreeWithTheLoop(String dtype, double tolerance) throws IOException {
        INDArray reference = referenceLoop(TrainTestSupport.tinyRun(modelFile, dir.resolve("unused"), dtype, 1));
        double worst = 0;
        List<Double> validationLosses = new ArrayList<>();
        for (int partitions = 1; partitions <= 4; partitions++) {
            Trainer.Result r = train(
                    TrainTestSupport.tinyRun(modelFile, dir.resolve(dtype + "-p" + partitions), dtype, partitions));
            assertEquals(
                    TrainTestSupport.tinyRun(modelFile, dir, dtype, 1)
                            .withDefaults()
                            .dataType(),
                    r.parameters().dataType());
            double diff = TrainTestSupport.maxRelativeDifference(reference, r.parameters());
            assertTrue(diff <= tolerance, partitions + " partitions: max relative difference " + diff);
            worst = Math.max(worst, diff);
            validationLosses.add(r.validationLoss());
        }
        // The validation pass is the same distributed sum: its loss does not depend on the partitioning either.
        assertEquals(
                List.of(
                        validationLosses.get(0),
                        validationLosses.get(0),
                        validationLosses.get(0),
                        validationLosses.get(0)),
                validationLosses);
        assertTrue(validationLosses.get(0) > 0 && Double.isFinite(validationLosses.get(0)));
        // The parameters moved: 5 steps at lr 1e-2 change them by far more than the tolerance.
        INDArray init = ModelInit.initialize(model, 7L, reference.dataType());
        assertTrue(TrainTestSupport.maxRelativeDifference(init, reference) > 1e-3);
        System.out.printf(
                "%s: worst max relative difference to the single-process loop over 1-4 partitions: %s%n", dtype, worst);
    }

    @Test
    void float32PartitionCountsEqualTheSingleProcessLoop() throws IOException {
        partitionCountsAgreeWithTheLoop("float32", 1e-5);
    }

    @Test
    void float64PartitionCountsEqualTheSingleProcessLoop() throws IOException {
        partitionCountsAgreeWithTheLoop("float64", 1e-12);
    }

    /**
     * An S4D model (with an attention layer) trains through the Trainer: 1 and 4 partitions equal the single-process
     * loop, in float32 and float64, and the parameters moved. Nothing of the Trainer knows the layer: it goes
     * through the Mixer interface.
     */
    @Test
    void s4dModelPartitionCountsEqualTheSingleProcessLoop() throws IOException {
        MambaConfig s4d = TrainTestSupport.tinyS4dModel();
        Path s4dFile = TrainTestSupport.writeModel(Files.createDirectories(dir.resolve("s4d-model")), s4d);
        for (String dtype : new String[] {"float64", "float32"}) {
            double tolerance = dtype.equals("float64") ? 1e-12 : 1e-5;
            INDArray reference = referenceLoop(TrainTestSupport.tinyRun(s4dFile, dir.resolve("unused"), dtype, 1), s4d);
            for (int partitions : new int[] {1, 4}) {
                Trainer.Result r = train(TrainTestSupport.tinyRun(
                        s4dFile, dir.resolve("s4d-" + dtype + "-p" + partitions), dtype, partitions));
                double diff = TrainTestSupport.maxRelativeDifference(reference, r.parameters());
                assertTrue(
                        diff <= tolerance,
                        "S4D " + dtype + ", " + partitions + " partitions: max relative difference " + diff);
                assertTrue(r.validationLoss() > 0 && Double.isFinite(r.validationLoss()));
                System.out.printf(
                        "S4D %s, %d partitions: max relative difference to the single-process loop %s%n",
                        dtype, partitions, diff);
            }
            INDArray init = ModelInit.initialize(s4d, 7L, reference.dataType());
            assertTrue(TrainTestSupport.maxRelativeDifference(init, reference) > 1e-3, "the S4D model trained");
        }
    }

    @Test
    void twoRunsWithTheSameSeedAreBitwiseIdentical() throws IOException {
        INDArray a = train(TrainTestSupport.tinyRun(modelFile, dir.resolve("same-a"), "float32", 3))
                .parameters();
        INDArray b = train(TrainTestSupport.tinyRun(modelFile, dir.resolve("same-b"), "float32", 3))
                .parameters();
        assertArrayEquals(a.toFloatVector(), b.toFloatVector());
        TrainConfig otherSeed = TrainTestSupport.tinyRun(modelFile, dir.resolve("same-c"), "float32", 3);
        otherSeed.seed = 8L;
        assertFalse(
                Arrays.equals(a.toFloatVector(), train(otherSeed).parameters().toFloatVector()));
    }

    @Test
    void gradientAccumulationGivesTheSameSteps() throws IOException {
        TrainConfig whole = TrainTestSupport.tinyRun(modelFile, dir.resolve("accum-1"), "float64", 2);
        TrainConfig accumulated = TrainTestSupport.tinyRun(modelFile, dir.resolve("accum-2"), "float64", 2);
        accumulated.gradAccum = 2; // two rounds of 2 windows: the same micro-batches, summed over two Spark jobs
        double diff = TrainTestSupport.maxRelativeDifference(
                train(whole).parameters(), train(accumulated).parameters());
        assertTrue(diff <= 1e-12, "grad-accum 2 vs 1: max relative difference " + diff);
    }

    @Test
    void aTaskWhoseFirstAttemptThrowsIsRetriedWithoutChangingTheResult() throws IOException {
        INDArray clean = train(TrainTestSupport.tinyRun(modelFile, dir.resolve("clean"), "float32", 2))
                .parameters();
        TrainConfig faulty = TrainTestSupport.tinyRun(modelFile, dir.resolve("faulty"), "float32", 2);
        faulty.injectTaskFailure = "2:1";
        INDArray retried = train(faulty).parameters();
        assertArrayEquals(clean.toFloatVector(), retried.toFloatVector());
    }
}
