package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A bad command line is refused with exit code 2, naming what is wrong, a mistyped option first. */
class CommandLineErrorsTest {
    /** --modle for --model: picocli alone reported only the missing --model. */
    @Test
    void aMistypedOptionIsNamedBeforeTheRequiredOptionsItLeavesMissing() {
        CliRun r = CliRun.of("score", "--modle", "m", "--input", "in", "--input-format", "text", "--output", "out");
        assertEquals(2, r.code(), r.err());
        assertEquals(
                "Unknown option: '--modle'\nPossible solutions: --model\nMissing required option: '--model=DIR'\n",
                r.err());
        assertEquals("", r.out());
    }

    @Test
    void withoutSuggestionTheUsageFollows() {
        CliRun r = CliRun.of("score", "--zzz", "--input", "in");
        assertEquals(2, r.code(), r.err());
        assertTrue(
                r.err()
                        .startsWith(
                                "Unknown option: '--zzz'\nMissing required options: '--model=DIR',"
                                        + " '--input-format=text|fasta|tokens-i32|tokens-u16|parquet', '--output=DIR'\nUsage: ssm-spark score "),
                r.err());
    }

    @Test
    void anUnknownOptionAloneIsReportedAsBefore() {
        CliRun r = CliRun.of(
                "score", "--model", "m", "--input", "in", "--input-format", "text", "--output", "out", "--top-kk", "3");
        assertEquals(2, r.code(), r.err());
        assertTrue(
                r.err()
                        .startsWith(
                                "Unknown options: '--top-kk', '3'\nPossible solutions: --top-k, --tokenizer, --token-text\n"),
                r.err());
    }
}
