package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.exchange.ExchangeHub;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Scoring in local mode with spark.authenticate (a given secret) and spark.network.crypto.enabled: the segment
 * exchange authenticates and encrypts, and the scores are those of a run without either.
 */
class SecuredScoringTest {

    /** The hybrid's 41-token sequence in 3 segments on 3 tasks, fp64; the exchange's address as the run had it. */
    private record Run(double[] nll, ExchangeHub.Address exchange) {}

    private static Run score(Map<String, String> settings) {
        // a session another test class left running would be reused, without these settings
        SparkSession.getDefaultSession().foreach(s -> {
            s.stop();
            return null;
        });
        SparkSessions builder =
                SparkSessions.builder("secured-score-test").master("local[3]").forTests();
        settings.forEach(builder::conf);
        SparkSession spark = builder.build();
        try {
            settings.forEach(
                    (k, v) -> assertEquals(v, spark.sparkContext().conf().get(k), k));
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            MambaConfig c = ScoreTestModels.config(true, null);
            INDArray params = ScoreTestModels.parameters(c, 11);
            int[] tokens = ScoreTestModels.tokens(3, 41, c.vocabSize());
            SequenceParallelScorer.Result r = new SequenceParallelScorer(
                            jsc,
                            ModelBlob.of(c, params.castTo(DataType.DOUBLE)),
                            StorageLevel.MEMORY_ONLY(),
                            0,
                            false,
                            3)
                    .score(jsc.parallelize(ScoreTestModels.cut("long", tokens, 6, 19), 3));
            double[] nll = new double[tokens.length - 1];
            for (ScoredSegment s : r.scored().collect()) {
                System.arraycopy(s.nll, 0, nll, (int) s.start, s.nll.length);
            }
            ExchangeHub.Address exchange = r.hub().address();
            r.release();
            return new Run(nll, exchange);
        } finally {
            spark.stop();
        }
    }

    @Test
    void scoresWithAuthenticationAndEncryptionEqualThoseWithout() {
        Run plain = score(Map.of());
        Run secured = score(Map.of(
                "spark.authenticate", "true",
                "spark.authenticate.secret", "secured-score-test-secret",
                "spark.network.crypto.enabled", "true"));
        assertTrue(!plain.exchange().authenticated() && !plain.exchange().encrypted());
        assertTrue(secured.exchange().authenticated(), "the exchange authenticated its tasks");
        assertTrue(secured.exchange().encrypted(), "the exchange encrypted its frames");
        assertArrayEquals(plain.nll(), secured.nll(), "the same computation, bit for bit");

        MambaConfig c = ScoreTestModels.config(true, null);
        double[] whole = ScoreTestModels.wholeSequenceNll(
                new HybridLm(c, ScoreTestModels.parameters(c, 11).castTo(DataType.DOUBLE)),
                ScoreTestModels.tokens(3, 41, c.vocabSize()));
        for (int i = 0; i < whole.length; i++) {
            assertEquals(whole[i], secured.nll()[i], 1e-10, "position " + (i + 1));
        }
    }
}
