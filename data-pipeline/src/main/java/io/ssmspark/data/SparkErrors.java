package io.ssmspark.data;

import java.io.IOException;

/** Gives back the user's error that Spark wrapped when a task failed. */
public final class SparkErrors {
  private SparkErrors() {}

  /**
   * Rethrows the first {@link BadRecordException}, other {@link IOException} or {@link
   * IllegalArgumentException} in the cause chain of {@code e}; otherwise rethrows {@code e}.
   */
  public static RuntimeException rethrowCause(RuntimeException e) throws IOException {
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
    throw e;
  }
}
