package io.ssmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ssmspark.jobs.spark.Progress;
import org.junit.jupiter.api.Test;

/** The progress wording train, score and nll share, and the interval setting. */
class ProgressTest {

    @Test
    void durationsAndEtas() {
        assertEquals("0:00:00", Progress.duration(0.2));
        assertEquals("1:01:05", Progress.duration(3665));
        assertEquals("?", Progress.duration(Double.NaN));
        assertEquals(30, Progress.eta(10, 1, 4), 1e-12); // a quarter took 10 s: three quarters to go
        assertEquals(0, Progress.eta(10, 4, 4), 1e-12);
        assertEquals(Double.NaN, Progress.eta(10, 0, 4));
    }

    @Test
    void aLineHasPercentCountsTokensRateAndEta() {
        assertEquals(
                "25.0%  wave 1/4  tokens 100/400  tokens/s 10  elapsed 0:00:10  ETA 0:00:30",
                Progress.line(0.25, "wave 1/4", 100, 400, 10));
        assertEquals(
                "0.0%  wave 1/4  tokens 0/400  tokens/s 0  elapsed 0:00:00  ETA ?",
                Progress.line(0, "wave 1/4", 0, 400, 0));
        assertEquals(
                "100.0%  wave 4/4  tokens 400/400  tokens/s 20  elapsed 0:00:20  ETA 0:00:00",
                Progress.line(1, "wave 4/4", 400, 400, 20));
    }

    @Test
    void theIntervalIsSecondsAboveZeroAndDefaultsToTen() {
        assertEquals(10_000_000_000L, Progress.intervalNanos(null));
        assertEquals(250_000_000L, Progress.intervalNanos(" 0.25 "));
        for (String bad : new String[] {"0", "-1", "soon", "NaN", "1e9"}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> Progress.intervalNanos(bad));
            assertEquals(
                    "spark.ssm.progress.seconds: expected seconds between progress lines (above 0, at most 86400)"
                            + " but found '" + bad + "'",
                    e.getMessage());
        }
    }
}
