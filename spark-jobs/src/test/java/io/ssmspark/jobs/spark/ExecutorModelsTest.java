package io.ssmspark.jobs.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** The one executor-side model cache: one model per broadcast id, the most recent {@link ExecutorModels#CAPACITY}. */
class ExecutorModelsTest {

    @Test
    void buildsOneModelPerBroadcastAndKeepsOnlyTheMostRecent() {
        MambaConfig c = MambaConfig.builder()
                .dModel(8)
                .nLayer(1)
                .vocabSize(16)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder().dState(4).headdim(4).chunkSize(4).build())
                .build();
        SparkSession spark = SparkSessions.builder("executor-models-test")
                .master("local[1]")
                .forTests()
                .build();
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            List<Broadcast<ModelBlob>> b = List.of(
                    jsc.broadcast(ModelBlob.of(c, ModelInit.initialize(c, 1, DataType.FLOAT))),
                    jsc.broadcast(ModelBlob.of(c, ModelInit.initialize(c, 2, DataType.FLOAT))),
                    jsc.broadcast(ModelBlob.of(c, ModelInit.initialize(c, 3, DataType.DOUBLE))));
            HybridLm first = ExecutorModels.of(b.get(0));
            assertSame(first, ExecutorModels.of(b.get(0)), "a second task of the same broadcast shares its model");
            assertEquals(b.get(0).value().floats[0], first.parameters().getFloat(0), 0f);
            HybridLm second = ExecutorModels.of(b.get(1));
            HybridLm third = ExecutorModels.of(b.get(2));
            assertEquals(DataType.DOUBLE, third.parameters().dataType());
            assertTrue(ExecutorModels.size() <= ExecutorModels.CAPACITY, "size " + ExecutorModels.size());
            assertSame(third, ExecutorModels.of(b.get(2)));
            assertSame(second, ExecutorModels.of(b.get(1)));
            assertNotSame(first, ExecutorModels.of(b.get(0)), "the least recently used model was let go");
            b.forEach(Broadcast::destroy);
        } finally {
            spark.stop();
        }
    }

    /** Broadcast ids start again at 0 in each SparkContext: a JVM's second context must not get the first's model. */
    @Test
    void aLaterSparkContextsBroadcastOfTheSameIdGetsItsOwnModel() {
        MambaConfig c = MambaConfig.builder()
                .dModel(8)
                .nLayer(1)
                .vocabSize(16)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder().dState(4).headdim(4).chunkSize(4).build())
                .build();
        float[] firsts = new float[2];
        long[] ids = new long[2];
        for (int run = 0; run < 2; run++) {
            SparkSession spark = SparkSessions.builder("executor-models-test")
                    .master("local[1]")
                    .forTests()
                    .build();
            try {
                JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
                Broadcast<ModelBlob> b =
                        jsc.broadcast(ModelBlob.of(c, ModelInit.initialize(c, 10 + run, DataType.FLOAT)));
                ids[run] = b.id();
                firsts[run] = ExecutorModels.of(b).parameters().getFloat(0);
                assertEquals(b.value().floats[0], firsts[run], 0f, "run " + run);
                b.destroy();
            } finally {
                spark.stop();
            }
        }
        assertEquals(ids[0], ids[1], "the case this test is about: both contexts gave the same broadcast id");
        assertTrue(firsts[0] != firsts[1]);
    }
}
