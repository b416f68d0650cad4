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
import io.ssmspark.model.checkpoint.TensorSpec;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
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
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A RetNet model (layer 0 retention, layer 1 attention) trains through the Trainer, read from its config.json:
 * 1 and 4 partitions give the parameters of a plain single-process loop over the same global batches, in float32
 * and float64, and the retention weights move. Nothing of the Trainer knows the layer.
 */
class RetNetTrainingTest {
    private static SparkSession spark;
    private static MambaConfig model;

    @TempDir
    static Path dir;

    private static Path modelFile;

    @BeforeAll
    static void start() throws IOException {
        spark = TrainTestSupport.spark();
        model = MambaConfig.builder()
                .dModel(16)
                .nLayer(2)
                .vocabSize(129)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder()
                        .retNet(RetNetConfig.of(2))
                        .chunkSize(16)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(2)
                        .numHeadsKv(2)
                        .headDim(8)
                        .rotaryEmbDim(8)
                        .build())
                .tieEmbeddings(false)
                .build();
        modelFile = TrainTestSupport.writeModel(dir, model);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void float32PartitionCountsEqualTheSingleProcessLoop() throws IOException {
        partitionCountsAgreeWithTheLoop("float32", 1e-5);
    }

    @Test
    void float64PartitionCountsEqualTheSingleProcessLoop() throws IOException {
        partitionCountsAgreeWithTheLoop("float64", 1e-12);
    }

    private void partitionCountsAgreeWithTheLoop(String dtype, double tolerance) throws IOException {
        INDArray reference = referenceLoop(TrainTestSupport.tinyRun(modelFile, dir.resolve("unused"), dtype, 1));
        List<Double> validationLosses = new ArrayList<>();
        for (int partitions : new int[] {1, 4}) {
            Trainer.Result r = new Trainer(spark)
                    .train(TrainTestSupport.tinyRun(
                            modelFile, dir.resolve(dtype + "-p" + partitions), dtype, partitions));
            double diff = TrainTestSupport.maxRelativeDifference(reference, r.parameters());
            System.out.printf(
                    "RetNet %s, %d partitions: max relative difference to the loop %s%n", dtype, partitions, diff);
            assertTrue(diff <= tolerance, partitions + " partitions: max relative difference " + diff);
            validationLosses.add(r.validationLoss());
        }
        assertEquals(validationLosses.get(0), validationLosses.get(1), "validation loss of 1 vs 4 partitions");
        assertTrue(validationLosses.get(0) > 0 && Double.isFinite(validationLosses.get(0)));
        // the parameters moved, the retention projections of layer 0 among them
        INDArray init = ModelInit.initialize(model, 7L, reference.dataType());
        TensorSpec q = CheckpointSchema.of(model).get("backbone.layers.0.mixer.q_proj.weight");
        INDArray qInit = init.get(NDArrayIndex.interval(q.offset(), q.offset() + q.size()));
        INDArray qTrained = reference.get(NDArrayIndex.interval(q.offset(), q.offset() + q.size()));
        assertTrue(TrainTestSupport.maxRelativeDifference(qInit, qTrained) > 1e-3, "q_proj moved");
    }

    /**
     * The reference (as DistributedTrainingTest's): one process, the windows of each step in rank order, in
     * micro-batches of consecutive ranks, each micro-batch's gradient added into a double-double sum, divided by the
     * token count, then clip + AdamW.
     */
    private static INDArray referenceLoop(TrainConfig run) throws IOException {
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
