package io.ssmspark.jobs.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.cli.CliRun;
import org.junit.jupiter.api.Test;

/** The subcommand is registered under bench, documents its options, and refuses bad ones before Spark starts. */
class Dl4jBaselineCliTest {

    @Test
    void helpListsTheOptions() {
        CliRun r = CliRun.of("bench", "dl4j-baseline", "--help");
        assertEquals(0, r.code(), r.err());
        for (String option : new String[] {
            "--data",
            "--input-format",
            "--seq-len",
            "--batch",
            "--hidden",
            "--layers",
            "--lr",
            "--seed",
            "--partitions",
            "--master",
            "--seconds",
            "--steps",
            "--averaging-frequency"
        }) {
            assertTrue(r.out().contains(option), option + " missing from:\n" + r.out());
        }
    }

    @Test
    void badOptionsGetOneClearErrorAndExitCode2() {
        CliRun r = CliRun.of("bench", "dl4j-baseline", "--batch", "0");
        assertEquals(2, r.code(), r.err());
        assertEquals(
                "ssm-spark dl4j-baseline: --batch: expected at least 1 but found 0",
                r.err().strip());
        r = CliRun.of("bench", "dl4j-baseline", "--approach", "stream");
        assertEquals(2, r.code(), r.err());
        assertEquals(
                "ssm-spark dl4j-baseline: --approach: expected direct or export but found 'stream'",
                r.err().strip());
    }
}
