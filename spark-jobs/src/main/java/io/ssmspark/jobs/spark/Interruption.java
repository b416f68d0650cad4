package io.ssmspark.jobs.spark;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.util.ShutdownHookManager;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * The one line a command prints when SIGINT (Ctrl-C) or SIGTERM stops it, saying what it left where.
 *
 * <p>Such a signal makes the JVM run its shutdown hooks, in the order of their priority in Hadoop's {@link
 * ShutdownHookManager}. Ours at 50 turns the log and standard error off: whatever Spark or a task prints while it is being torn down
 * is a consequence of the signal, not news. Spark's at 40 stops the SparkContext, which fails the job the command is
 * waiting for; a command without Spark checks {@link #requested()} between units of work. Ours at 30 (before Hadoop
 * closes its file systems at 10, so the command can still remove an incomplete output) waits up to 20 s for the
 * command to unwind, then prints the line with what the command last said it leaves ({@link #leaves}). {@link
 * UserErrorHandler} prints nothing for a command stopped this way.
 */
public final class Interruption {
    private static final int MUTE_PRIORITY = 50;
    private static final int REPORT_PRIORITY = 30;
    private static final long WAIT_SECONDS = 20;
    private static volatile Run current;
    private static boolean hooked;
    /** Standard error as it was before {@link #mute} silenced it. */
    private static volatile PrintStream console;

    private Interruption() {}

    /** One command run. */
    private static final class Run {
        final String command;
        final CountDownLatch ended = new CountDownLatch(1);
        volatile String leaves;
        volatile boolean quiet;

        Run(String command) {
            this.command = command;
        }
    }

    /**
     * A command, or a parent of subcommands, that says what an interrupt leaves before it has run far enough to say
     * more through {@link #leaves}.
     */
    public interface Leaves {
        String leavesWhenInterrupted();
    }

    /** Whether the JVM is shutting down, as it does on SIGINT or SIGTERM. */
    public static boolean requested() {
        return ShutdownHookManager.get().isShutdownInProgress();
    }

    /** Says what the running command leaves if it is stopped from now on, e.g. "nothing was written to OUT". */
    public static void leaves(String what) {
        Run r = current;
        if (r != null) {
            r.leaves = what;
        }
    }

    /** A command starts; from now on a signal is reported as its interruption. */
    public static synchronized void started(String command) {
        if (!hooked) {
            ShutdownHookManager.get().addShutdownHook(Interruption::mute, MUTE_PRIORITY);
            ShutdownHookManager.get()
                    .addShutdownHook(Interruption::report, REPORT_PRIORITY, WAIT_SECONDS + 5, TimeUnit.SECONDS);
            hooked = true;
        }
        current = new Run(command);
    }

    /**
     * The command has returned {@code exitCode} and printed what it had to say. Nothing more is printed when it
     * ended before the shutdown, or succeeded.
     */
    public static void ended(int exitCode) {
        Run r = current;
        if (r != null) {
            r.quiet = exitCode == 0 || !requested();
            r.ended.countDown();
        }
    }

    private static void mute() {
        Run r = current;
        if (r == null || r.ended.getCount() == 0) {
            return; // no command is stopped by this shutdown
        }
        // Not only the log: Scala's thread pools print a rejected callback's stack, and the JVM a dying thread's, to
        // stderr directly. The console is kept for the one line of report().
        console = System.err;
        System.setErr(new PrintStream(OutputStream.nullOutputStream()));
        try {
            Configurator.setAllLevels(LogManager.ROOT_LOGGER_NAME, Level.OFF);
        } catch (LinkageError e) {
            // another logging backend than Spark's log4j2: its lines stay
        }
    }

    private static void report() {
        Run r = current;
        if (r == null || r.quiet) {
            return;
        }
        boolean unwound;
        try {
            unwound = r.ended.await(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            unwound = false;
        }
        if (unwound && r.quiet) {
            return;
        }
        String what = r.leaves;
        PrintStream err = console != null ? console : System.err;
        err.println("ssm-spark " + r.command + ": interrupted (SIGINT or SIGTERM)"
                + (what == null ? "" : "; " + what)
                + (unwound ? "" : " (it was still running " + WAIT_SECONDS + " s later, so this may not hold)"));
        err.flush();
    }
}
