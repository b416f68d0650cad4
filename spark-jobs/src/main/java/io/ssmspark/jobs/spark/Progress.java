package io.ssmspark.jobs.spark;

import java.util.Locale;

/**
 * The progress arithmetic and wording that {@code train}, {@code score} and {@code nll} share: elapsed time and
 * ETA as h:mm:ss, tokens per second, and how often a long job logs a line ({@value #INTERVAL_PROPERTY}).
 */
public final class Progress {
    /** Seconds between progress lines of {@code score} and {@code nll} (a system property or Spark setting). */
    public static final String INTERVAL_PROPERTY = "spark.ssm.progress.seconds";

    private static final double DEFAULT_INTERVAL_SECONDS = 10;

    private Progress() {}

    /** h:mm:ss, or ? when the time is not known yet. */
    public static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long total = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", total / 3600, (total / 60) % 60, total % 60);
    }

    /** Seconds left when {@code done} of {@code total} took {@code elapsedSeconds} (NaN while nothing is done). */
    public static double eta(double elapsedSeconds, double done, double total) {
        return done > 0 ? elapsedSeconds / done * (total - done) : Double.NaN;
    }

    /**
     * One progress line: {@code 40.0%  COUNTS  tokens 131072/327680  tokens/s 2345  elapsed 0:00:56  ETA 0:01:24},
     * where {@code fraction} (0..1) of the work drives the percentage and the ETA.
     */
    public static String line(double fraction, String counts, long tokens, long totalTokens, double elapsedSeconds) {
        return line(fraction, counts, tokens, totalTokens, elapsedSeconds, 0, 0);
    }

    /**
     * As above, for a run that resumed work done before it ({@code fractionBefore} of it, {@code tokensBefore}
     * tokens): tokens/s and the ETA count this run's work only.
     */
    public static String line(
            double fraction,
            String counts,
            long tokens,
            long totalTokens,
            double elapsedSeconds,
            double fractionBefore,
            long tokensBefore) {
        return String.format(
                Locale.ROOT,
                "%.1f%%  %s  tokens %d/%d  tokens/s %.0f  elapsed %s  ETA %s",
                100 * fraction,
                counts,
                tokens,
                totalTokens,
                elapsedSeconds > 0 ? (tokens - tokensBefore) / elapsedSeconds : 0.0,
                duration(elapsedSeconds),
                duration(eta(elapsedSeconds, fraction - fractionBefore, 1 - fractionBefore)));
    }

    /**
     * Nanoseconds between progress lines: {@code value} in seconds (a number above 0), or 10 s when it is null.
     *
     * @param value the setting of {@value #INTERVAL_PROPERTY}, or null
     */
    public static long intervalNanos(String value) {
        if (value == null) {
            return (long) (DEFAULT_INTERVAL_SECONDS * 1e9);
        }
        double seconds;
        try {
            seconds = Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            seconds = Double.NaN;
        }
        if (!(seconds > 0) || seconds > 86_400) {
            throw new IllegalArgumentException(
                    INTERVAL_PROPERTY + ": expected seconds between progress lines (above 0, "
                            + "at most 86400) but found '" + value + "'");
        }
        return (long) (seconds * 1e9);
    }
}
