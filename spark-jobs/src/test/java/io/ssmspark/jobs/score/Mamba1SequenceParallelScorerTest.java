package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
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
 * Sequence-parallel scoring of Mamba-1 models equals one process scoring each sequence whole: a 41-token sequence
 * cut into 1, 2, 3 and 7 uneven segments (some shorter than d_conv − 1 = 3), on 1, 2 and 3 tasks at once, beside a
 * 3-token and a 1-token sequence; the Mamba-1 state passes between segments as its summary (α, E), one value per
 * (channel, state) each.
 */
class Mamba1SequenceParallelScorerTest {
    private static SparkSession spark;
    private static JavaSparkContext jsc;

    /** A 41-token sequence cut into 1, 2, 3 and 7 segments (7: lengths 5, 1, 2, 9, 3, 6, 15). */
    private static final int[][] CUTS = {{}, {17}, {6, 7}, {5, 6, 8, 17, 20, 26}};

    private static final int[] WIDTHS = {1, 2, 3};

    @BeforeAll
    static void start() {
        spark = SparkSessions.builder("mamba1-score-test")
                .master("local[3,4]")
                .forTests()
                .build();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /**
     * d_model 8, 3 layers, Mamba-1 with d_inner 16, d_state 4, d_conv 4, dt_rank auto (1), dt initialised in [0.05,
     * 0.5] (so that states carry far), GatedMLP, vocab 13 padded to 16; attention at layer 1 when {@code attention}.
     */
    static MambaConfig config(boolean attention, Integer window) {
        MambaConfig.Builder b = MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.mamba1Builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .dtMin(0.05)
                        .dtMax(0.5)
                        .build())
                .tieEmbeddings(false);
        if (attention) {
            b.attnLayerIdx(List.of(1))
                    .attn(AttnConfig.builder()
                            .numHeads(4)
                            .numHeadsKv(2)
                            .headDim(4)
                            .rotaryEmbDim(4)
                            .windowSize(window)
                            .build());
        }
        return b.build();
    }

    @Test
    void pureMamba1Fp32WithinTwoTenThousandths() {
        check(config(false, null), DataType.FLOAT, 2e-4, StorageLevel.MEMORY_ONLY());
    }

    @Test
    void pureMamba1Fp64WithinRounding() {
        check(config(false, null), DataType.DOUBLE, 1e-10, StorageLevel.MEMORY_ONLY());
    }

    @Test
    void mamba1WithAttentionFp32AndFp64() {
        check(config(true, null), DataType.FLOAT, 2e-4, StorageLevel.MEMORY_ONLY());
        // a sliding window longer than the short segments, and every segment through Kryo between layers
        check(config(true, 5), DataType.DOUBLE, 1e-10, StorageLevel.DISK_ONLY());
    }

    private static void check(MambaConfig c, DataType dtype, double tolerance, StorageLevel storage) {
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
                SequenceParallelScorer.Result r = new SequenceParallelScorer(jsc, blob, storage, 0, false, width)
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
                String what = (c.attnLayerIdx().isEmpty()
                                ? "mamba1"
                                : "mamba1 + attention window=" + c.attn().windowSize())
                        + " " + dtype + " cuts " + java.util.Arrays.toString(cuts) + " tasks " + width;
                assertEquals(40 + 2, rows, what + ": scored positions");
                double diff =
                        Math.max(maxAbsDiff(expectLong, got.get("long")), maxAbsDiff(expectShort, got.get("short")));
                System.out.printf("score equality: %s max |dNLL| = %.3g%n", what, diff);
                assertEquals(0, maxAbsDiff(expectLong, got.get("long")), tolerance, what);
                assertEquals(0, maxAbsDiff(expectShort, got.get("short")), tolerance, what);

                // per Mamba-1 layer every segment but a sequence's last sends its last min(K-1, T) pre-conv rows
                // (d_inner wide) and its summary (α and E: d_inner·N values each); whole sequences send nothing
                long valueBytes = dtype == DataType.DOUBLE ? 8 : 4;
                long expectUp = 0;
                long expectDown = 0; // the next segment's halo (min(K-1, tokens before it) rows) and state (d_inner·N)
                int previous = 0;
                for (int cut : cuts) {
                    expectUp += (Math.min(3, cut - previous) * 16L + 2L * 16 * 4) * valueBytes;
                    expectDown += (Math.min(3, cut) * 16L + 16 * 4) * valueBytes;
                    previous = cut;
                }
                long mamba1Layers = 0;
                for (ExchangeStats e : exchanges) {
                    if (e.kind().equals("mamba1")) {
                        mamba1Layers++;
                        assertEquals(expectUp, e.bytesUp(), what + " layer " + e.layer());
                        assertEquals(expectDown, e.bytesDown(), what + " layer " + e.layer());
                    }
                }
                assertEquals(c.nLayer() - c.attnLayerIdx().size(), mamba1Layers);
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
