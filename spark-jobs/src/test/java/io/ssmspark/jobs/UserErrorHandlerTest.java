package io.ssmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.BadRecord;
import io.ssmspark.data.BadRecordException;
import io.ssmspark.jobs.cli.NllCommand;
import io.ssmspark.jobs.cli.ScoreCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What a failed command prints: one line for the user's errors and for memory, one line and a trace for a bug. */
class UserErrorHandlerTest {

    private record Printed(int code, String err) {}

    private static Printed handle(Object command, Exception e) {
        CommandLine cli = new CommandLine(command);
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err, true));
        int code = new UserErrorHandler().handleExecutionException(e, cli, null);
        return new Printed(code, err.toString());
    }

    /** A failed Spark job as the driver sees it: its message carries the task's stack trace as text. */
    private static SparkException jobFailure(Throwable task) {
        StringWriter trace = new StringWriter();
        task.printStackTrace(new PrintWriter(trace));
        return new SparkException(
                "Job aborted due to stage failure: Task 1 in stage 0.0 failed 1 times, most recent "
                        + "failure: Lost task 1.0 in stage 0.0 (TID 1) (localhost executor driver): " + trace,
                task);
    }

    @Test
    void aBadRecordFoundInATaskIsOneLine() {
        BadRecordException bad = new BadRecordException(
                new BadRecord("file:/data/x.i32", 0, "byte", 12, "token id 40 outside the vocabulary [0, 13)"));
        Printed p = handle(new ScoreCommand(), jobFailure(new UncheckedIOException(bad)));
        assertEquals(UserErrorHandler.USER_ERROR, p.code());
        assertEquals(
                "ssm-spark score: file:/data/x.i32: at byte offset 12: token id 40 outside the vocabulary [0, 13)"
                        + " (use --skip-bad-records to skip such records and go on)\n",
                p.err());
    }

    @Test
    void aBadSettingFoundInATaskIsOneLine() {
        Printed p = handle(
                new ScoreCommand(),
                jobFailure(new UncheckedIOException(
                        "segment exchange: cannot reach the "
                                + "driver at 10.0.0.1:7000 (set spark.ssm.exchange.port to a port the executors may reach)",
                        new java.net.ConnectException("Connection refused"))));
        assertEquals(UserErrorHandler.USER_ERROR, p.code());
        assertEquals(
                "ssm-spark score: segment exchange: cannot reach the driver at 10.0.0.1:7000 (set "
                        + "spark.ssm.exchange.port to a port the executors may reach)\n",
                p.err());
    }

    @Test
    void runningOutOfMemoryInATaskNamesTheSettingsInOneLine() {
        OutOfMemoryError oom = new OutOfMemoryError(
                "Cannot allocate new FloatPointer(4): totalBytes = 768, " + "physicalBytes = 1100M");
        oom.initCause(new OutOfMemoryError(
                "Physical memory usage is too high: physicalBytes (1100M) > " + "maxPhysicalBytes (1100M)"));
        Printed p = handle(new ScoreCommand(), jobFailure(oom));
        assertEquals(UserErrorHandler.OUT_OF_MEMORY, p.code());
        assertEquals(1, p.err().lines().count(), p.err());
        assertTrue(
                p.err()
                        .startsWith("ssm-spark score: out of memory (Physical memory usage is too high: physicalBytes "
                                + "(1100M) > maxPhysicalBytes (1100M)). Lower --segment-length"),
                p.err());
        assertTrue(p.err().contains("SSM_SPARK_JAVA_OPTS") && p.err().contains("spark.executor.memory"), p.err());
    }

    /** A training task out of native memory: the window does not fit, and --sequence-parallel is the way out. */
    @Test
    void aTrainingWindowThatDoesNotFitSuggestsSequenceParallelism() {
        OutOfMemoryError oom =
                new OutOfMemoryError("Physical memory usage is too high: physicalBytes (3G) > maxPhysicalBytes (3G)");
        Printed p = handle(new io.ssmspark.jobs.train.TrainCommand(), jobFailure(oom));
        assertEquals(UserErrorHandler.OUT_OF_MEMORY, p.code());
        assertEquals(1, p.err().lines().count(), p.err());
        assertTrue(
                p.err()
                        .contains("A training window's activations do not fit one task: cut each window across"
                                + " tasks with --sequence-parallel S"),
                p.err());
    }

    /** picocli lets an Error through; Main hands it over wrapped, and the line names nll's own setting. */
    @Test
    void runningOutOfMemoryInTheDriverNamesTheCommandsSetting() {
        CommandLine cli = new CommandLine(new NllCommand());
        Printed p = handle(
                new NllCommand(),
                new CommandLine.ExecutionException(cli, "out of memory", new OutOfMemoryError("Java heap space")));
        assertEquals(UserErrorHandler.OUT_OF_MEMORY, p.code());
        assertTrue(p.err().startsWith("ssm-spark nll: out of memory (Java heap space). Lower --window"), p.err());
        assertEquals(1, p.err().lines().count(), p.err());
    }

    /** A bug in a task: one line naming it, then its own stack trace once (not the job's text copy of it). */
    @Test
    void anUnexpectedTaskFailureKeepsItsTrace() {
        NullPointerException npe = new NullPointerException("boom");
        Printed p = handle(new ScoreCommand(), jobFailure(npe));
        assertEquals(UserErrorHandler.INTERNAL_ERROR, p.code());
        String[] lines = p.err().split("\n");
        assertEquals("ssm-spark score: a Spark task failed: java.lang.NullPointerException: boom", lines[0]);
        assertEquals("java.lang.NullPointerException: boom", lines[1]);
        assertTrue(lines[2].startsWith("\tat io.ssmspark.jobs.UserErrorHandlerTest."), lines[2]);
        assertFalse(p.err().contains("Job aborted"), "the job's text copy of the trace is not repeated");
    }
}
