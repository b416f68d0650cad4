package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.ssmspark.jobs.cli.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** `demo --steps N` with N < 1 is refused in one line before anything is written. */
class DemoStepsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"0", "-3"})
    void fewerThanOneStepIsRefusedBeforeWritingAnything(String steps) {
        Path out = dir.resolve("demo");
        CliRun run = CliRun.of("demo", "--steps", steps, "--out", out.toString());
        assertEquals(2, run.code(), run.err());
        assertEquals("ssm-spark demo: --steps must be at least 1, found " + steps + "\n", run.err());
        assertEquals("", run.out());
        assertFalse(Files.exists(out), "nothing written to " + out);
    }
}
