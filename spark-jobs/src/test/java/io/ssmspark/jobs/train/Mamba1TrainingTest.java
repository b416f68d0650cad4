package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.SourceData;
import io.ssmspark.data.Sources;
import io.ssmspark.data.TrainingWindows;
import io.ssmspark.data.Window;
import io.ssmspark.data.WindowOptions;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.mixer.Mamba1Mixer;
import io.ssmspark.model.optim.AdamW;
import io.ssmspark.model.optim.AdamWSettings;
import io.ssmspark.model.optim.LearningRateSchedule;
import io.ssmspark.model.optim.Optimizer;
import java.io.IOException;
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
 * A pure Mamba-1 model and a Mamba-1/attention hybrid train through {@code train} (the {@link Trainer}): on 1 and 4
 * partitions the parameters after 5 steps equal a plain single-process loop over the same global batches (fp64
 * 1e-12, fp32 1e-5), the validation loss does not depend on the partitioning, and the parameters moved.
 */
class Mamba1TrainingTest {
    private static SparkSession spark;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        spark = TrainTestSupport.spark();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** The training tests' tiny model with Mamba-1 layers (d_inner 32, d_state 8, d_conv 4, dt_rank 1). */
    private static MambaConfig mamba1(boolean attention) {
        MambaConfig.Builder b = TrainTestSupport.tinyModel().toBuilder()
                .ssm(SsmConfig.mamba1Builder().dState(8).dConv(4).expand(2).build());
        return attention ? b.build() : b.attnLayerIdx(List.of()).build();
    }

    @Test
    void pureMamba1PartitionCountsEqualTheSingleProcessLoop() throws IOException {
        partitionCountsAgree(mamba1(false), "pure");
    }

    @Test
    void mamba1AttentionHybridPartitionCountsEqualTheSingleProcessLoop() throws IOException {
        partitionCountsAgree(mamba1(true), "hybrid");
    }

    private static void partitionCountsAgree(MambaConfig model, String name) throws IOException {
        Path modelFile = TrainTestSupport.writeModel(java.nio.file.Files.createDirectories(dir.resolve(name)), model);
        assertTrue(new HybridLm(model, ModelInit.initialize(model, 1, DataType.FLOAT)).mixer(0) instanceof Mamba1Mixer);
        for (String dtype : new String[] {"float64", "float32"}) {
            double tolerance = dtype.equals("float64") ? 1e-12 : 1e-5;
            INDArray reference =
                    referenceLoop(model, TrainTestSupport.tinyRun(modelFile, dir.resolve("unused"), dtype, 1));
            List<Double> validation = new ArrayList<>();
            for (int partitions : new int[] {1, 4}) {
                Trainer.Result r = new Trainer(spark)
                        .train(TrainTestSupport.tinyRun(
                                modelFile, dir.resolve(name + "-" + dtype + "-p" + partitions), dtype, partitions));
                double diff = TrainTestSupport.maxRelativeDifference(reference, r.parameters());
                System.out.printf(
                        "mamba1 %s %s, %d partitions: max relative difference to the loop %s%n",
                        name, dtype, partitions, diff);
                assertTrue(diff <= tolerance, name + " " + dtype + ", " + partitions + " partitions: " + diff);
                validation.add(r.validationLoss());
            }
            assertEquals(validation.get(0), validation.get(1), name + " " + dtype + ": validation loss");
            assertTrue(validation.get(0) > 0 && Double.isFinite(validation.get(0)));
            INDArray init = ModelInit.initialize(model, 7L, reference.dataType());
            assertTrue(TrainTestSupport.maxRelativeDifference(init, reference) > 1e-3, "the parameters moved");
        }
    }

    /**
     * The reference: one process, the windows of each step in rank order, in micro-batches of M consecutive ranks,
     * each micro-batch's gradient added into a double-double sum, divided by the token count, then clip + AdamW.
     */
    private static INDArray referenceLoop(MambaConfig model, TrainConfig run) throws IOException {
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
        for (int s = 0; s < c.steps; s++) {
            CompensatedSum sum = new CompensatedSum(parameters.length());
            long tokens = 0;
            List<Window> batch = windows.subList(s * c.globalBatch, (s + 1) * c.globalBatch);
            for (int g = 0; g < batch.size(); g += c.microBatch) {
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
}
