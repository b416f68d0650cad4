package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Sequence-parallel scoring of RetNet models (pure, and with attention at layer 1) equals one process scoring each
 * sequence whole: 1, 2, 3 and 7 uneven segments (lengths not multiples of the chunk 4, down to 1 token), 1 to 3
 * tasks at once, fp32 within 2e-4 and fp64 within 1e-10. The retention layers pass only their state summary (no
 * halo rows). Nothing of the scorer knows the layer: it drives the {@code Mixer} interface.
 */
class RetNetScoringTest {
    private static SparkSession spark;
    private static JavaSparkContext jsc;

    /** A 41-token sequence cut into 1, 2, 3 and 7 segments (7: lengths 5, 1, 2, 9, 3, 6, 15). */
    private static final int[][] CUTS = {{}, {17}, {6, 7}, {5, 6, 8, 17, 20, 26}};

    private static final int[] WIDTHS = {1, 2, 3};

    @BeforeAll
    static void start() {
        spark = SparkSessions.builder("retnet-score-test")
                .master("local[3,4]")
                .forTests()
                .build();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** d_model 8, 3 layers, 2 retention heads (d_k 4, d_v 8), chunk 4, GatedMLP; attention at layer 1 if asked. */
    static MambaConfig config(boolean attention) {
        MambaConfig.Builder b = MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder().retNet(RetNetConfig.of(2)).chunkSize(4).build())
                .tieEmbeddings(false);
        if (attention) {
            b.attnLayerIdx(List.of(1))
                    .attn(AttnConfig.builder()
                            .numHeads(4)
                            .numHeadsKv(2)
                            .headDim(4)
                            .rotaryEmbDim(4)
                            .build());
        }
        return b.build();
    }

    @Test
    void pureRetNetFp32AndFp64() {
        check(config(false), DataType.FLOAT, 2e-4);
        check(config(false), DataType.DOUBLE, 1e-10);
    }

    @Test
    void retNetWithAttentionFp32AndFp64() {
        check(config(true), DataType.FLOAT, 2e-4);
        check(config(true), DataType.DOUBLE, 1e-10);
    }

    /** Each cut of the long sequence, scored together with a 3-token and a 1-token sequence (each whole). */
    private static void check(MambaConfig c, DataType dtype, double tolerance) {
        INDArray params = ScoreTestModels.parameters(c, 11);
        HybridLm reference = new HybridLm(c, params.castTo(dtype));
        int[] longSeq = ScoreTestModels.tokens(3, 41, c.vocabSize());
        int[] shortSeq = ScoreTestModels.tokens(4, 3, c.vocabSize());
        double[] expectLong = ScoreTestModels.wholeSequenceNll(reference, longSeq);
        double[] expectShort = ScoreTestModels.wholeSequenceNll(reference, shortSeq);
        ModelBlob blob = ModelBlob.of(c, params.castTo(dtype));
        for (int[] cuts : CUTS) {
            for (int width : WIDTHS) {
                List<Segment> segments = new ArrayList<>(ScoreTestModels.cut("long", longSeq, cuts));
                segments.addAll(ScoreTestModels.cut("short", shortSeq));
                segments.addAll(ScoreTestModels.cut("one", new int[] {2}));
                SequenceParallelScorer.Result r = new SequenceParallelScorer(
                                jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, width)
                        .score(jsc.parallelize(segments, 3));
                Map<String, double[]> got = new HashMap<>();
                got.put("long", new double[longSeq.length - 1]);
                got.put("short", new double[shortSeq.length - 1]);
                got.put("one", new double[0]);
                int rows = 0;
                for (ScoredSegment s : r.scored().collect()) {
                    for (int j = 0; j < s.nll.length; j++) {
                        got.get(s.sequenceId)[(int) s.start + j] = s.nll[j];
                        rows++;
                    }
                }
                List<ExchangeStats> exchanges = r.exchanges();
                r.release();
                String what = "RetNet" + (c.attnLayerIdx().isEmpty() ? "" : " + attention") + " " + dtype + " cuts "
                        + java.util.Arrays.toString(cuts) + " tasks " + width;
                assertEquals(40 + 2, rows, what + ": scored positions");
                double diff =
                        Math.max(maxAbsDiff(expectLong, got.get("long")), maxAbsDiff(expectShort, got.get("short")));
                System.out.printf("score equality: %s max |dNLL| = %.3g%n", what, diff);
                assertEquals(0, maxAbsDiff(expectLong, got.get("long")), tolerance, what);
                assertEquals(0, maxAbsDiff(expectShort, got.get("short")), tolerance, what);

                // per retention layer every segment but a sequence's last sends its summary, α [H] and E [H·d_v·d_k],
                // and no halo rows: 2 + 2·8·4 = 66 values; every segment but the first gets its state, 64 values
                long valueBytes = dtype == DataType.DOUBLE ? 8 : 4;
                long expectUp = cuts.length * 66L * valueBytes;
                long expectDown = cuts.length * 64L * valueBytes;
                long retention = 0;
                for (ExchangeStats e : exchanges) {
                    if (e.kind().equals("retnet")) {
                        retention++;
                        assertEquals(expectUp, e.bytesUp(), what + " layer " + e.layer());
                        assertEquals(expectDown, e.bytesDown(), what + " layer " + e.layer());
                    }
                }
                assertEquals(c.nLayer() - c.attnLayerIdx().size(), retention, what + ": retention layers");
            }
        }
    }

    private static double maxAbsDiff(double[] a, double[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
