package io.ssmspark.data;

import java.io.IOException;

/** Gives back the user's error that Spark wrapped when a task failed. */
public final class SparkErrors {
    private SparkErrors() {}

    /**
     * Rethrows the first {@link BadRecordException}, other {@link IOException} or {@link
     * IllegalArgumentException} in the cause chain of {@code e} (Spark wraps task failures in a
     * {@code SparkException}, which Java code sees undeclared); otherwise rethrows {@code e} itself.
     */
    public static RuntimeException rethrowCause(Exception e) throws IOException {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadRecordException) {
                throw (BadRecordException) t;
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException && !(t.getCause() instanceof IOException)) {
                throw (IOException) t;
            }
            if (t instanceof IllegalArgumentException) {
                throw (IllegalArgumentException) t;
            }
        }
        throw SparkErrors.<RuntimeException>sneaky(e);
    }

    @SuppressWarnings("unchecked")
    private static <E extends Exception> E sneaky(Exception e) throws E {
        throw (E) e;
    }
}
