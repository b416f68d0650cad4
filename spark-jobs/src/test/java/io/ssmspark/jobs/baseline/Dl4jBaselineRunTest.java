package io.ssmspark.jobs.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.Sources;
import io.ssmspark.data.TrainingWindows;
import io.ssmspark.data.WindowOptions;
import io.ssmspark.data.synthetic.SyntheticCorpora;
import io.ssmspark.jobs.spark.SparkSessions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Tiny real runs of the baseline through dl4j-spark in local[2], direct and export approaches. */
class Dl4jBaselineRunTest {
    // 8 keys, 8 values, 4 pairs: 17 ids, so a few steps already learn the key/value alternation.
    private static final String DATA = "synthetic:associative-recall?documents=300&keys=8&values=8&pairs=4";
    private static final int SEQ_LEN = 32;
    private static final int VOCAB = 17; // 8 keys + 8 values + separator
    private static final double LR = 3e-2;
    private static final int STEPS = 20;
    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkSessions.builder("dl4j-baseline-test")
                .master("local[2]")
                .forTests()
                // dl4j-spark ships classes of its own (DataSets, results) that we do not register one by one.
                .conf("spark.kryo.registrationRequired", "false")
                .conf("spark.kryo.registrator", Dl4jLstmBaseline.KRYO_REGISTRATORS)
                .build();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static BaselineSettings settings(long steps, BaselineSettings.Approach approach, String exportParent) {
        return new BaselineSettings(
                DATA, null, SEQ_LEN, 2, 16, 2, LR, 1, 2, 60, steps, 1, 0.05, 64, approach, exportParent);
    }

    @Test
    void directRunReportsSaneFiguresAndLearns() throws IOException {
        BaselineSettings s = settings(STEPS, BaselineSettings.Approach.DIRECT, null);
        BaselineResult r = Dl4jLstmBaseline.run(spark, s);
        Map<String, Object> json = Dl4jBaselineBench.json(s, r).fields();

        assertEquals("dl4j-lstm", json.get("model"));
        assertEquals(LstmLanguageModel.parameterCount(VOCAB, 16, 2), ((Number) json.get("params")).longValue());
        assertEquals((long) STEPS, json.get("steps"));
        // STEPS rounds of 2 workers x 1 minibatch x 2 windows x 32 tokens
        assertEquals(STEPS * 2L * 2 * SEQ_LEN, json.get("tokens_trained"));
        double tokensPerSecond = ((Number) json.get("tokens_per_s")).doubleValue();
        assertTrue(tokensPerSecond > 0 && Double.isFinite(tokensPerSecond), "tokens_per_s " + tokensPerSecond);
        assertTrue(r.seconds() > 0 && r.seconds() < 60, "seconds " + r.seconds());
        assertTrue(r.cpuSeconds() > 0, "cpu_seconds " + r.cpuSeconds());
        assertTrue(
                r.firstStepSeconds() > 0 && r.firstStepSeconds() < r.seconds(), "first step " + r.firstStepSeconds());
        double steady = ((Number) json.get("steady_tokens_per_s")).doubleValue();
        assertTrue(steady > 0 && Double.isFinite(steady), "steady_tokens_per_s " + steady);
        // local[2]: two tasks share the cores (1 thread each on this 2-core machine)
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors() / 2), json.get("omp_threads"));

        // The validation windows are exactly those the data pipeline cuts for ssm-spark's training job.
        TrainingWindows windows = TrainingWindows.build(
                Sources.read(spark, DATA, ReadOptions.defaults().withPartitions(2)),
                WindowOptions.of(SEQ_LEN)
                        .withValidationFraction(0.05)
                        .withSeed(1)
                        .withPartitions(2));
        long validationWindows = windows.validationCounts().windows;
        assertEquals(Math.min(64, validationWindows), json.get("validation_windows"));
        assertEquals(SEQ_LEN * Math.min(64, validationWindows), json.get("validation_tokens"));

        double loss = r.validationLoss();
        assertEquals(loss, ((Number) json.get("validation_loss")).doubleValue(), 1e-3);
        assertTrue(Double.isFinite(loss) && loss < Math.log(VOCAB) + 0.5, "validation_loss " + loss);
        // Training moved the model: it beats the untrained network of the same seed on the same windows,
        // and the best unigram model of the corpus (20 steps give 2.815 against 2.835 and 2.823).
        double untrained = ValidationNll.mean(
                JavaSparkContext.fromSparkContext(spark.sparkContext()),
                windows.validation(),
                LstmLanguageModel.build(VOCAB, 16, 2, LR, 1),
                64,
                2,
                VOCAB)[0];
        double unigram = SyntheticCorpora.create(
                        "associative-recall", Map.of("documents", "300", "keys", "8", "values", "8", "pairs", "4"))
                .unigramLoss();
        assertEquals(unigram, ((Number) json.get("unigram_loss")).doubleValue(), 1e-3 * unigram);
        assertTrue(loss < untrained - 0.01, "trained " + loss + " vs untrained " + untrained);
        assertTrue(loss < unigram, "trained " + loss + " vs unigram " + unigram);
    }

    @Test
    void exportRunWritesIntoItsTemporaryDirectoryAndDeletesIt() throws IOException {
        Path parent = Files.createDirectories(Path.of("target", "dl4j-baseline-test"));
        BaselineSettings s = settings(
                2,
                BaselineSettings.Approach.EXPORT,
                parent.toAbsolutePath().toUri().toString());
        BaselineResult r = Dl4jLstmBaseline.run(spark, s);
        Map<String, Object> json = Dl4jBaselineBench.json(s, r).fields();

        assertEquals("export", json.get("approach"));
        assertEquals(2L * 2 * 2 * SEQ_LEN, json.get("tokens_trained"));
        assertTrue(r.exportBytes() > 0, "dl4j-spark exported nothing: " + r.exportBytes() + " bytes");
        try (Stream<Path> left = Files.list(parent)) {
            assertFalse(
                    left.anyMatch(p -> p.getFileName().toString().startsWith("dl4j-export-")),
                    "the export directory under " + parent + " was not deleted");
        }
        assertTrue(
                Double.isFinite(r.validationLoss()) && r.validationLoss() < Math.log(VOCAB) + 0.5,
                "validation_loss " + r.validationLoss());
    }
}
