package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopLevelHelpTest {
    /**
     * picocli lists only the first description line of each command: each command's summary there is a whole
     * sentence (two were cut mid-sentence), and the help prints no picocli warning.
     */
    @Test
    void everyCommandSummaryIsAWholeSentence() {
        CliRun r = CliRun.of("--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(!(r.out() + r.err()).contains("WARN"), r.out() + r.err());
        Map<String, StringBuilder> summaries = new LinkedHashMap<>();
        String current = null;
        boolean inCommands = false;
        for (String line : r.out().split("\n")) {
            if (line.startsWith("Commands:")) {
                inCommands = true;
            } else if (inCommands && line.matches("^  [a-z-]+ .*")) {
                current = line.trim().split("\\s+", 2)[0];
                summaries.put(
                        current,
                        new StringBuilder(
                                line.trim().substring(current.length()).trim()));
            } else if (inCommands && current != null && line.startsWith("    ")) {
                summaries.get(current).append(' ').append(line.trim());
            }
        }
        assertTrue(
                summaries.keySet().containsAll(java.util.List.of("train", "demo", "score", "nll", "bench")),
                summaries.toString());
        summaries.forEach(
                (command, summary) -> assertTrue(summary.toString().endsWith("."), command + ": '" + summary + "'"));
    }
}
