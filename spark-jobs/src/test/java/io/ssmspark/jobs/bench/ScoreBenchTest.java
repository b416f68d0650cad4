package io.ssmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ScoreBenchTest {

    /** A hybrid with a windowed attention layer scores in both runs; its JSON line names the layer pattern. */
    @Test
    void aHybridPatternIsScoredAndReported() throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            rc = new CommandLine(new ScoreBench())
                    .execute(
                            "--seq-len",
                            "300",
                            "--segments",
                            "3",
                            "--pattern",
                            "MA",
                            "--d-model",
                            "32",
                            "--d-state",
                            "8",
                            "--headdim",
                            "8",
                            "--chunk",
                            "16",
                            "--heads",
                            "2",
                            "--attn-window",
                            "7",
                            "--vocab",
                            "16",
                            "--window",
                            "64");
        } finally {
            System.setOut(out);
        }
        assertEquals(0, rc);
        String line = captured.toString(StandardCharsets.UTF_8)
                .lines()
                .filter(l -> l.startsWith("{"))
                .findFirst()
                .orElseThrow();
        JsonNode j = new ObjectMapper().readTree(line);
        assertEquals("MA", j.get("pattern").asText());
        assertEquals(7, j.get("attn_window").asInt());
        assertTrue(
                Double.isFinite(j.get("mean_nll").asDouble())
                        && j.get("mean_nll").asDouble() > 0,
                line);
        assertTrue(j.get("peak_rss_bytes").asLong() > 0, line);
    }

    @Test
    void aPatternLetterOtherThanMOrAIsNamed() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new ScoreBench());
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute("--pattern", "MX");
        assertTrue(rc != 0);
        assertTrue(err.toString().contains("--pattern: letter 1 is 'X'"), err.toString());
    }
}
