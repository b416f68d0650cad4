package io.ssmspark.jobs.spark;

/**
 * A task's OutOfMemoryError turned into an ordinary task failure that still names it. Spark treats an Error
 * leaving a task as fatal and exits the executor JVM, so the job would end in lost executors instead of the reason;
 * JavaCPP's "Physical memory usage is too high" is thrown before the allocation, and the task's arrays are
 * released as it unwinds, so the executor can go on. The message starts with the error's class name, which the
 * driver's one-line report looks for, and says what the task held.
 */
public final class TaskOutOfMemory extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private TaskOutOfMemory(String message, OutOfMemoryError cause) {
        super(message, cause);
    }

    /** {@code e} as a task failure; {@code held} says what the task held, e.g. "one part of 16384 tokens". */
    public static TaskOutOfMemory of(OutOfMemoryError e, String held) {
        String detail = e.getMessage() == null ? "no detail given" : firstLine(e.getMessage());
        return new TaskOutOfMemory(OutOfMemoryError.class.getName() + ": " + detail + " (" + held + ")", e);
    }

    private static String firstLine(String s) {
        int end = s.indexOf('\n');
        return end < 0 ? s : s.substring(0, end);
    }
}
