package io.ssmspark.localtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `ssm-spark demo`, shortened to 3 steps: it trains, writes its outputs and prints accuracy and the three losses. */
class DemoCommandTest {
    @TempDir
    Path dir;

    @Test
    void aShortDemoWritesItsOutputsAndComparesWithTheCorpusLosses() throws Exception {
        Path out = dir.resolve("demo");
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        try {
            System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
            code = Main.run("demo", "--steps", "3", "--out", out.toString());
        } finally {
            System.setOut(old);
        }
        String text = stdout.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("after 3 steps, validation split ("), text);
        assertTrue(text.contains("  unigram loss    3.5100 nats/token (counting tokens)\n"), text);
        assertTrue(text.contains("  ideal loss      1.6309 nats/token (the generator itself)\n"), text);
        Matcher model =
                Pattern.compile("  model loss      (\\d+\\.\\d+) nats/token").matcher(text);
        assertTrue(model.find(), text);
        double loss = Double.parseDouble(model.group(1));
        assertTrue(loss > 1.6309 && loss < Math.log(34) + 0.5, "3 steps from initialisation: " + loss);
        Matcher accuracy = Pattern.compile("  answer accuracy (\\d\\.\\d{4}) \\(chance 1/32 = 0\\.0313\\)\n")
                .matcher(text);
        assertTrue(accuracy.find(), text);
        double recalled = Double.parseDouble(accuracy.group(1));
        assertTrue(recalled < 0.3, "3 steps from initialisation copy little: " + recalled);
        assertTrue(
                text.contains(String.format(
                        java.util.Locale.ROOT,
                        "The model writes the right symbol at %.0f%% of the positions of the copy (chance: 1/32):",
                        100 * recalled)),
                text);
        for (String file : new String[] {
            "metrics.jsonl",
            "loss.png",
            "summary.json",
            "model-config.json",
            "final/config.json",
            "final/model.safetensors",
            "final/optimizer.safetensors"
        }) {
            assertTrue(Files.isRegularFile(out.resolve(file)), file);
        }
        assertEquals(3 + 1, Files.readAllLines(out.resolve("metrics.jsonl")).size()); // 3 steps + the final validation
    }
}
