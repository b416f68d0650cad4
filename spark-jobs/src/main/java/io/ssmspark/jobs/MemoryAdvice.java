package io.ssmspark.jobs;

/** The one line for an OutOfMemoryError: what ran out, and which settings to change. */
final class MemoryAdvice {
    private static final String OOM = OutOfMemoryError.class.getName();

    private MemoryAdvice() {}

    /**
     * The innermost OutOfMemoryError in the cause chain of {@code e}, or the innermost exception whose message names
     * one (a task's error that reached the driver as text only); null when there is none.
     */
    static Throwable find(Throwable e) {
        Throwable found = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError
                    || (t.getMessage() != null && t.getMessage().contains(OOM))) {
                found = t;
            }
        }
        return found;
    }

    /** "out of memory (DETAIL). Lower ..., or give it more memory: ..." for {@code command}. */
    static String message(String command, Throwable oom) {
        String lower = lower(command);
        return "out of memory (" + detail(oom) + "). " + (lower.isEmpty() ? "Give" : lower + ", or give")
                + " it more memory: in local mode through SSM_SPARK_JAVA_OPTS (-Xmx for the heap, "
                + "-Dorg.bytedeco.javacpp.maxPhysicalBytes for the heap and ND4J's native arrays together), on a cluster "
                + "spark.driver.memory, spark.executor.memory and spark.executor.memoryOverhead (ND4J's arrays live off the "
                + "heap)";
    }

    /** The options that shrink a command's working set. */
    private static String lower(String command) {
        return switch (command) {
            case "score" -> "Lower --segment-length (a task's memory grows with it) or --parallel-segments";
            case "nll" -> "Lower --window (working memory grows with it)";
            case "train" ->
                "A training window's activations do not fit one task: cut each window across tasks"
                        + " with --sequence-parallel S (a task then holds seq-len / S tokens), or lower --micro-batch or"
                        + " --seq-len";
            default -> "";
        };
    }

    private static String detail(Throwable oom) {
        String m = oom.getMessage();
        if (m == null || m.isBlank()) {
            return "no detail given";
        }
        int at = m.indexOf(OOM + ": ");
        String from = at >= 0 ? m.substring(at + OOM.length() + 2) : m;
        int end = from.indexOf('\n');
        return (end >= 0 ? from.substring(0, end) : from).strip();
    }
}
