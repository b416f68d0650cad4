package io.ssmspark.jobs;

import picocli.CommandLine;

/**
 * Turns an exception from a command into one clear line on stderr and a non-zero exit code.
 * A bad input (IllegalArgumentException, an I/O problem) is the user's to fix, so it gets no stack
 * trace; anything else is a bug and keeps its trace. Set SSM_SPARK_DEBUG=1 to always see the trace.
 */
final class UserErrorHandler implements CommandLine.IExecutionExceptionHandler {
  static final int USER_ERROR = 2;
  static final int INTERNAL_ERROR = 1;

  @Override
  public int handleExecutionException(
      Exception ex, CommandLine cli, CommandLine.ParseResult parseResult) {
    boolean debug = System.getenv("SSM_SPARK_DEBUG") != null;
    boolean userError =
        ex instanceof IllegalArgumentException
            || ex instanceof IllegalStateException
            || ex instanceof java.io.IOException
            || ex instanceof java.io.UncheckedIOException;
    cli.getErr().println("ssm-spark " + cli.getCommandName() + ": " + message(ex));
    if (debug || !userError) {
      ex.printStackTrace(cli.getErr());
    }
    return userError ? USER_ERROR : INTERNAL_ERROR;
  }

  private static String message(Throwable ex) {
    String m = ex.getMessage();
    return m == null || m.isBlank() ? ex.getClass().getSimpleName() : m;
  }
}
