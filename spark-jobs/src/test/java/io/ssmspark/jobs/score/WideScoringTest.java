package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.mixer.Mamba2Mixer;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Scoring with more tasks than the other scoring tests: 4 and 6 tasks on local[6] give the scores of 1 task, bit
 * for bit (each segment's arithmetic is the same, and the driver folds the summaries in sequence order whatever the
 * waves), and each task sends and receives the same bytes per round whatever the number of tasks.
 */
class WideScoringTest {
    private static SparkSession spark;
    private static JavaSparkContext jsc;

    @BeforeAll
    static void start() {
        spark = SparkSessions.builder("wide-score-test")
                .master("local[6]")
                .forTests()
                .build();
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void fourAndSixTasksScoreAsOneAndExchangeTheSameBytesPerTaskAndRound() {
        MambaConfig c = ScoreTestModels.config(true, 5); // Mamba2, attention over a window of 5, Mamba2
        ModelBlob blob = ModelBlob.of(c, ScoreTestModels.parameters(c, 21).castTo(DataType.FLOAT));
        int[] tokens = ScoreTestModels.tokens(22, 61, c.vocabSize());
        List<Segment> segments = new ArrayList<>(ScoreTestModels.cut("long", tokens, 8, 16, 24, 32, 40, 48, 56));
        segments.addAll(ScoreTestModels.cut("short", ScoreTestModels.tokens(23, 5, c.vocabSize())));
        double[] one = null;
        List<ExchangeStats> oneTask = null;
        for (int width : new int[] {1, 4, 6}) {
            SequenceParallelScorer.Result r = new SequenceParallelScorer(
                            jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, width)
                    .score(jsc.parallelize(segments, 3));
            double[] nll = new double[60 + 4];
            try {
                for (ScoredSegment s : r.scored().collect()) {
                    int base = s.sequenceId.equals("long") ? 0 : 60;
                    System.arraycopy(s.nll, 0, nll, base + (int) s.start, s.nll.length);
                }
            } finally {
                r.release();
            }
            assertEquals(width, r.width());
            if (one == null) {
                one = nll;
                oneTask = r.exchanges();
                continue;
            }
            assertArrayEquals(one, nll, "tasks " + width + ": the scores of 1 task, bit for bit");
            assertEquals(oneTask, r.exchanges(), "tasks " + width + ": the bytes exchanged, in all and per round");
        }
        // a Mamba2 layer: per round a task sends at most its summary (H + H·P·N values; the conv tail of (K−1) rows
        // is smaller here) and receives at most its initial state (H·P·N)
        Mamba2Mixer.Spec sp = blob.newModel().mixerSpec();
        long state = (long) sp.heads() * sp.headDim() * sp.dState();
        long tail = (long) (sp.convKernel() - 1) * sp.convDim();
        ExchangeStats mamba = oneTask.get(0);
        assertEquals("mamba2", mamba.kind());
        assertEquals(4 * Math.max(tail, sp.heads() + state), mamba.maxTaskRoundBytesUp());
        assertEquals(4 * Math.max(tail, state), mamba.maxTaskRoundBytesDown());
    }
}
