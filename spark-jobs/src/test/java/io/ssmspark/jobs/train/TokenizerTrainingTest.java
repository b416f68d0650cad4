package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.TextTokenizer;
import io.ssmspark.data.TokenizerFixture;
import io.ssmspark.model.config.MambaConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train --tokenizer}: text data encoded by a tokenizer.json, and a model too small for it refused. */
class TokenizerTrainingTest {
    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void session() {
        spark = TrainTestSupport.spark();
    }

    private TrainConfig run(MambaConfig model, String name) throws IOException {
        Path data = Files.createDirectories(dir.resolve("text"));
        String[] words = {"the", "cat", "sat", "and", "on", "mat", "in", "end", "Grüße"};
        java.util.Random rnd = new java.util.Random(3);
        // 120 short documents: the validation split takes a document by the hash of its path, which holds this run's
        // temporary directory, so with 12 documents it was empty in about 1 run in 4 (0.9^12); now 0.9^120
        for (int f = 0; f < 120; f++) {
            StringBuilder b = new StringBuilder();
            for (int w = 0; w < 12; w++) {
                b.append(words[rnd.nextInt(words.length)]).append(w % 17 == 16 ? "\n" : " ");
            }
            Files.writeString(data.resolve("doc" + f + ".txt"), b, StandardCharsets.UTF_8);
        }
        TrainConfig c =
                TrainTestSupport.tinyRun(TrainTestSupport.writeModel(dir, model), dir.resolve(name), "float32", 2);
        c.data = data.toString();
        c.inputFormat = "text";
        c.tokenizer = TokenizerFixture.write(dir.resolve("tok")).getParent().toString();
        c.steps = 2;
        return c;
    }

    @Test
    void trainsOnTokenizedText() throws IOException {
        MambaConfig model = TrainTestSupport.tinyModel().toBuilder()
                .vocabSize(TokenizerFixture.vocabSize())
                .build();
        TrainConfig c = run(model, "run");
        Trainer.Result r = new Trainer(spark).train(c);
        assertEquals(2, r.steps());
        assertTrue(Double.isFinite(r.trainLoss()) && Double.isFinite(r.validationLoss()), r.toString());
        // the windows are windows of tokenizer ids: far fewer than a token per byte would give
        long bytes = 0;
        long ids = 0;
        TextTokenizer t = TextTokenizer.load(Path.of(c.tokenizer));
        try (var files = Files.list(Path.of(c.data))) {
            for (Path p : files.toList()) {
                String s = Files.readString(p, StandardCharsets.UTF_8);
                bytes += s.getBytes(StandardCharsets.UTF_8).length;
                ids += t.encode(s).length;
            }
        }
        long windows = r.trainWindows() + r.validationWindows();
        assertTrue(windows <= ids / 32, windows + " windows for " + ids + " ids");
        assertTrue(windows < bytes / 32 - 12, windows + " windows for " + bytes + " bytes");
        // the trained model keeps its tokenizer, byte for byte: the directory is what --tokenizer reads
        Path kept = Path.of(r.finalCheckpoint()).resolve(TextTokenizer.FILE_NAME);
        org.junit.jupiter.api.Assertions.assertArrayEquals(t.json(), Files.readAllBytes(kept));
        org.junit.jupiter.api.Assertions.assertArrayEquals(
                t.encode("a kept tokenizer"),
                TextTokenizer.load(Path.of(r.finalCheckpoint())).encode("a kept tokenizer"));
    }

    @Test
    void aModelSmallerThanTheTokenizerIsRefused() throws IOException {
        TrainConfig c = run(TrainTestSupport.tinyModel(), "small");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(c));
        assertTrue(e.getMessage().contains("vocabulary of " + TokenizerFixture.vocabSize() + " ids"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains(
                                "vocab_size is " + TrainTestSupport.tinyModel().vocabSize()),
                e.getMessage());
    }

    @Test
    void syntheticDataWithATokenizerIsRefused() throws IOException {
        MambaConfig model = TrainTestSupport.tinyModel().toBuilder()
                .vocabSize(TokenizerFixture.vocabSize())
                .build();
        TrainConfig c = run(model, "synthetic");
        c.data = TrainTestSupport.DATA;
        c.inputFormat = null;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(c));
        assertTrue(e.getMessage().contains("--tokenizer"), e.getMessage());
    }
}
