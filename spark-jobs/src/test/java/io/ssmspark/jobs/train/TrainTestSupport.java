package io.ssmspark.jobs.train;

import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The shared test session and the tiny model and run of the training tests. */
final class TrainTestSupport {
    /** Two task slots, and up to 4 attempts per task so an injected failure is retried. */
    static final String MASTER = "local[2,4]";

    static final String DATA = "synthetic:associative-recall?documents=120";

    private TrainTestSupport() {}

    /** Kryo with registrationRequired=true (SparkSessions.forTests), so a class of ours missing from it fails. */
    static synchronized SparkSession spark() {
        return SparkSessions.builder("train-tests").master(MASTER).forTests().build();
    }

    /** 2 layers (layer 1 attention), d_model 16, GatedMLP, vocabulary 129 (associative-recall's) padded to 136. */
    static MambaConfig tinyModel() {
        return TinyModels.trainingHybrid();
    }

    /** {@link #tinyModel} with an S4D layer (d_state 8: 4 conjugate pairs, blocks of 16) instead of Mamba2. */
    static MambaConfig tinyS4dModel() {
        return tinyModel().toBuilder()
                .ssm(SsmConfig.builder()
                        .layer(S4dConfig.LAYER)
                        .dState(8)
                        .chunkSize(16)
                        .s4d(new S4dConfig(S4dConfig.Init.LIN))
                        .build())
                .build();
    }

    static Path writeModel(Path dir, MambaConfig config) throws IOException {
        Path file = dir.resolve("model-config.json");
        Files.writeString(file, config.toJson());
        return file;
    }

    /** A 5-step run of the tiny model: windows of 32 tokens, 4 per step in micro-batches of 2. */
    static TrainConfig tinyRun(Path modelConfig, Path out, String dtype, int partitions) {
        TrainConfig c = new TrainConfig();
        c.modelConfig = modelConfig.toString();
        c.data = DATA;
        c.seqLen = 32;
        c.globalBatch = 4;
        c.microBatch = 2;
        c.steps = 5;
        c.lr = 1e-2;
        c.warmup = 1;
        c.seed = 7L;
        c.dtype = dtype;
        c.partitions = partitions;
        c.validationFraction = 0.1;
        c.evalWindows = 4;
        c.out = out.toString();
        return c;
    }

    /** max_i |a_i - b_i| / max_i |a_i|: the largest difference relative to the largest parameter. */
    static double maxRelativeDifference(INDArray expected, INDArray actual) {
        double scale = expected.amaxNumber().doubleValue();
        return expected.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                        .sub(actual.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE))
                        .amaxNumber()
                        .doubleValue()
                / scale;
    }
}
