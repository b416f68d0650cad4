package io.ssmspark.jobs;

import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * picocli's report of a bad command line (the problem, then suggestions or the usage; exit code 2), except that an
 * unknown option is named first: when required options are missing too, picocli names only those, though a
 * mistyped option is often why one is missing.
 */
final class ParameterErrorHandler implements CommandLine.IParameterExceptionHandler {
    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cli = ex.getCommandLine();
        PrintWriter err = cli.getErr();
        boolean suggested = false;
        List<String> unmatched = cli.getUnmatchedArguments();
        if (!(ex instanceof UnmatchedArgumentException) && !unmatched.isEmpty()) {
            List<String> options =
                    unmatched.stream().filter(a -> a.startsWith("-")).toList();
            UnmatchedArgumentException unknown =
                    new UnmatchedArgumentException(cli, options.isEmpty() ? unmatched : options);
            err.println(unknown.getMessage());
            suggested = UnmatchedArgumentException.printSuggestions(unknown, err);
        }
        err.println(ex.getMessage());
        if (!UnmatchedArgumentException.printSuggestions(ex, err) && !suggested) {
            cli.usage(err);
        }
        err.flush();
        return cli.getCommandSpec().exitCodeOnInvalidInput();
    }
}
