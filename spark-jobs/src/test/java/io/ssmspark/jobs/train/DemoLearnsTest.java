package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.jobs.cli.CliRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's demo, as a newcomer runs it: it learns to copy (answer accuracy at least 0.9) and says so. */
class DemoLearnsTest {
    @TempDir
    Path dir;

    @Test
    void theDemoLearnsToCopyAndSaysWhatItLearned() throws IOException {
        Path out = dir.resolve("demo");
        CliRun run = CliRun.of("demo", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        JsonNode summary = new ObjectMapper().readTree(Files.readString(out.resolve("summary.json")));
        double accuracy = summary.get("final_validation_answer_accuracy").asDouble();
        assertTrue(accuracy >= 0.9, "answer accuracy " + accuracy);
        assertEquals(300, summary.get("steps").asInt());
        assertTrue(run.out().contains("it learned to copy a sequence it has seen once"), run.out());
        assertTrue(run.out().contains("below the unigram baseline"), run.out());
        assertTrue(Files.exists(out.resolve("loss.png")));
    }
}
