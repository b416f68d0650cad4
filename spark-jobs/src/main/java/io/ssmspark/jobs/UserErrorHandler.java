package io.ssmspark.jobs;

import io.ssmspark.data.BadRecordException;
import io.ssmspark.jobs.spark.Interruption;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import org.apache.spark.SparkException;
import picocli.CommandLine;

/**
 * Turns an exception from a command into one clear line on stderr and a non-zero exit code:
 * <ul>
 * <li>a bad input (IllegalArgumentException, an I/O problem, a bad record found inside a Spark task) is the user's
 * to fix: its message, no stack trace;</li>
 * <li>running out of memory: what ran out and the settings to change ({@link MemoryAdvice});</li>
 * <li>a command stopped by SIGINT or SIGTERM: nothing here, {@link Interruption} says what was left;</li>
 * <li>anything else is a bug: one line, then the stack trace of the exception that caused it (a failed Spark
 * task's own exception rather than the job's wrapper around it).</li>
 * </ul>
 * Set SSM_SPARK_DEBUG=1 to see the full stack trace of every error.
 */
final class UserErrorHandler implements CommandLine.IExecutionExceptionHandler {
    static final int USER_ERROR = 2;
    static final int INTERNAL_ERROR = 1;
    static final int OUT_OF_MEMORY = 3;
    static final int INTERRUPTED = 130;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cli, CommandLine.ParseResult parseResult) {
        if (Interruption.requested()) {
            return INTERRUPTED;
        }
        boolean debug = System.getenv("SSM_SPARK_DEBUG") != null;
        PrintWriter err = cli.getErr();
        String prefix = "ssm-spark " + cli.getCommandName() + ": ";
        Throwable oom = MemoryAdvice.find(ex);
        Throwable user = oom == null ? userError(ex) : null;
        int code;
        if (oom != null) {
            err.println(prefix + MemoryAdvice.message(cli.getCommandName(), oom));
            code = OUT_OF_MEMORY;
        } else if (user != null) {
            err.println(prefix + message(user));
            code = USER_ERROR;
        } else if (ex instanceof SparkException && ex.getCause() == null) {
            err.println(prefix + message(ex)); // the task's failure as text, its stack trace included
            code = INTERNAL_ERROR;
        } else {
            Throwable cause = ex instanceof SparkException ? ex.getCause() : ex;
            err.println(prefix + (cause == ex ? message(ex) : "a Spark task failed: " + firstLine(cause.toString())));
            cause.printStackTrace(err);
            err.flush();
            return INTERNAL_ERROR;
        }
        if (debug) {
            ex.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    /**
     * The user's error: {@code ex} itself when it is a bad input, or, for a failed Spark job, the first bad record,
     * bad argument or I/O problem in its cause chain (skipping wrappers that add nothing to their cause's message);
     * null for anything else.
     */
    private static Throwable userError(Exception ex) {
        if (ex instanceof IllegalArgumentException
                || ex instanceof IllegalStateException
                || ex instanceof IOException
                || ex instanceof UncheckedIOException) {
            return ex;
        }
        if (!(ex instanceof SparkException)) {
            return null;
        }
        for (Throwable t = ex.getCause(); t != null; t = t.getCause()) {
            if (t instanceof BadRecordException) {
                return t;
            }
        }
        for (Throwable t = ex.getCause(); t != null; t = t.getCause()) {
            boolean bare = t.getCause() != null
                    && String.valueOf(t.getMessage()).equals(t.getCause().toString());
            if (!bare
                    && (t instanceof IllegalArgumentException
                            || t instanceof IOException
                            || t instanceof UncheckedIOException)) {
                return t;
            }
        }
        return null;
    }

    private static String message(Throwable ex) {
        String m = ex.getMessage();
        return m == null || m.isBlank() ? ex.getClass().getSimpleName() : m;
    }

    private static String firstLine(String s) {
        int end = s.indexOf('\n');
        return end < 0 ? s : s.substring(0, end);
    }
}
