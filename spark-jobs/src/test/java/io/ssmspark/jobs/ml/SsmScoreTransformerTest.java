package io.ssmspark.jobs.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The Spark ML transformer against the model's own forward, and through save → load. */
class SsmScoreTransformerTest {
    @TempDir
    static Path dir;

    private static SparkSession spark;
    private static MambaConfig config;
    private static INDArray parameters;
    private static Path modelDir;

    @BeforeAll
    static void start() throws IOException {
        spark = SparkSessions.builder("ml-test").master("local[2]").forTests().build();
        config = MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(1)
                        .chunkSize(4)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(2)
                        .numHeadsKv(1)
                        .headDim(4)
                        .rotaryEmbDim(4)
                        .build())
                .tieEmbeddings(false)
                .build();
        INDArray flat = ModelInit.initialize(config, 5, DataType.DOUBLE);
        Random rnd = new Random(6);
        double[] noise = new double[(int) flat.length()];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = 0.2 * rnd.nextGaussian();
        }
        parameters =
                flat.addi(Nd4j.createFromArray(noise)).castTo(DataType.FLOAT).castTo(DataType.DOUBLE);
        modelDir = dir.resolve("model");
        Checkpoint.save(modelDir, config, parameters.castTo(DataType.FLOAT));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static final int[][] SEQUENCES = {
        {1, 5, 2, 9, 12, 0, 3, 3, 7}, {4}, {2, 8, 8, 1, 11, 6, 5, 0, 10, 9, 3, 12, 4, 7}
    };

    private static Dataset<Row> frame() {
        StructType schema = DataTypes.createStructType(List.of(
                DataTypes.createStructField("id", DataTypes.StringType, false),
                DataTypes.createStructField("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), true)));
        Row[] rows = new Row[SEQUENCES.length];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = RowFactory.create(
                    "s" + i, Arrays.stream(SEQUENCES[i]).boxed().toArray(Integer[]::new));
        }
        return spark.createDataFrame(List.of(rows), schema);
    }

    private static double[] expected(int[] tokens) {
        HybridLm lm = new HybridLm(config, parameters.dup());
        int n = tokens.length;
        return lm.nll(
                        lm.forward(new int[][] {Arrays.copyOfRange(tokens, 0, n - 1)}),
                        new int[][] {Arrays.copyOfRange(tokens, 1, n)},
                        null)
                .perToken()
                .ravel()
                .toDoubleVector();
    }

    @Test
    void addsNllMeanAndEmbeddingsEqualToTheModelAndSurvivesSaveAndLoad() throws IOException {
        SsmScoreTransformer t = new SsmScoreTransformer()
                .setModelPath(modelDir.toString())
                .setDtype("float64")
                .setEmbeddingsCol("emb");
        List<Row> out = t.transform(frame()).orderBy("id").collectAsList();
        assertEquals(
                List.of("id", "tokens", "nll", "mean_nll", "emb"),
                List.of(out.get(0).schema().fieldNames()));
        HybridLm lm = new HybridLm(config, parameters.dup());
        for (int i = 0; i < SEQUENCES.length; i++) {
            Row r = out.get(i);
            List<Double> nll = r.getList(2);
            assertEquals(SEQUENCES[i].length - 1, nll.size());
            if (SEQUENCES[i].length < 2) {
                assertTrue(Double.isNaN(r.getDouble(3)));
                continue;
            }
            double[] e = expected(SEQUENCES[i]);
            double sum = 0;
            for (int j = 0; j < e.length; j++) {
                assertEquals(e[j], nll.get(j), 1e-10, "s" + i + " position " + (j + 1));
                sum += e[j];
            }
            assertEquals(sum / e.length, r.getDouble(3), 1e-10);
            // the embeddings are what the head reads: head(embedding) gives the same NLL
            List<scala.collection.Seq<Float>> emb = r.getList(4);
            assertEquals(e.length, emb.size());
            double[][] rows = new double[e.length][];
            for (int j = 0; j < e.length; j++) {
                List<Float> row = scala.collection.JavaConverters.seqAsJavaList(emb.get(j));
                assertEquals(8, row.size());
                rows[j] = row.stream().mapToDouble(Float::doubleValue).toArray();
            }
            INDArray logits = lm.head(Nd4j.createFromArray(rows));
            double[] fromEmb = CrossEntropy.forward(
                            logits, Arrays.copyOfRange(SEQUENCES[i], 1, SEQUENCES[i].length), null)
                    .rowLoss()
                    .toDoubleVector();
            for (int j = 0; j < e.length; j++) {
                assertEquals(e[j], fromEmb[j], 1e-5); // embeddings are stored as float
            }
        }

        long before = RowScore.SCORED.get();
        assertEquals(SEQUENCES.length, t.transform(frame()).collectAsList().size());
        assertEquals(SEQUENCES.length, RowScore.SCORED.get() - before, "each row is scored once, not once per column");

        String saved = dir.resolve("transformer").toString();
        t.write().save(saved);
        SsmScoreTransformer loaded = SsmScoreTransformer.load(saved);
        assertEquals(t.uid(), loaded.uid());
        assertEquals(modelDir.toString(), loaded.getModelPath());
        assertEquals("float64", loaded.getDtype());
        assertEquals("emb", loaded.getEmbeddingsCol());
        List<Row> again = loaded.transform(frame()).orderBy("id").collectAsList();
        assertEquals(out, again);
    }

    @Test
    void refusesAWrongInputColumnAndAnExistingOutputColumn() {
        SsmScoreTransformer t =
                new SsmScoreTransformer().setModelPath(modelDir.toString()).setInputCol("id");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.transform(frame()));
        assertEquals("input column 'id': expected array<int> but found string", e.getMessage());
        SsmScoreTransformer clash =
                new SsmScoreTransformer().setModelPath(modelDir.toString()).setOutputCol("id");
        e = assertThrows(IllegalArgumentException.class, () -> clash.transform(frame()));
        assertTrue(e.getMessage().startsWith("output column 'id'"), e.getMessage());

        StructType schema = DataTypes.createStructType(List.of(
                DataTypes.createStructField("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), true)));
        Dataset<Row> bad = spark.createDataFrame(List.of(RowFactory.create((Object) new Integer[] {1, 2, 99})), schema);
        SsmScoreTransformer t2 = new SsmScoreTransformer().setModelPath(modelDir.toString());
        Exception job = assertThrows(Exception.class, () -> t2.transform(bad).collectAsList());
        Throwable cause = job;
        while (cause != null && !(cause instanceof IllegalArgumentException)) {
            cause = cause.getCause();
        }
        assertTrue(cause != null, "no IllegalArgumentException among the causes of " + job);
        assertEquals("column 'tokens': tokens[2] = 99 is outside the (padded) vocabulary [0, 16)", cause.getMessage());
    }

    /**
     * The transformer and the model's own paths (forward, nll, score) accept the same ids: those of the padded
     * vocabulary (vocab_size 13 padded to 16), and refuse 16 with the same message.
     */
    @Test
    void acceptsExactlyTheIdsTheModelAccepts() {
        int[] padded = {1, 13, 15, 2, 14};
        StructType schema = DataTypes.createStructType(List.of(
                DataTypes.createStructField("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), true)));
        Dataset<Row> rows = spark.createDataFrame(
                List.of(RowFactory.create((Object) Arrays.stream(padded).boxed().toArray(Integer[]::new))), schema);
        SsmScoreTransformer t =
                new SsmScoreTransformer().setModelPath(modelDir.toString()).setDtype("float64");
        List<Double> nll = t.transform(rows).collectAsList().get(0).getList(1);
        double[] e = expected(padded);
        assertEquals(e.length, nll.size());
        for (int j = 0; j < e.length; j++) {
            assertEquals(e[j], nll.get(j), 1e-10, "position " + (j + 1));
        }

        HybridLm lm = new HybridLm(config, parameters.dup());
        IllegalArgumentException viaModel =
                assertThrows(IllegalArgumentException.class, () -> lm.forward(new int[][] {{1, 16}}));
        IllegalArgumentException viaScore =
                assertThrows(IllegalArgumentException.class, () -> WholeSequenceScore.of(lm, new int[] {1, 16}, false));
        assertEquals("tokens[0][1] = 16 is outside the (padded) vocabulary [0, 16)", viaModel.getMessage());
        assertEquals("tokens[1] = 16 is outside the (padded) vocabulary [0, 16)", viaScore.getMessage());
    }
}
