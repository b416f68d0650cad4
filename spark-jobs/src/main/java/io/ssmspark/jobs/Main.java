package io.ssmspark.jobs;

import io.ssmspark.jobs.cli.BenchCommand;
import io.ssmspark.jobs.cli.ExportCommand;
import io.ssmspark.jobs.cli.GenerateCommand;
import io.ssmspark.jobs.cli.InspectCommand;
import io.ssmspark.jobs.cli.NllCommand;
import io.ssmspark.jobs.cli.ScoreCommand;
import io.ssmspark.jobs.spark.Interruption;
import io.ssmspark.jobs.train.DemoCommand;
import io.ssmspark.jobs.train.TrainCommand;
import io.ssmspark.model.tensor.KernelThreads;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/ssm-spark} and of the job jar given to {@code spark-submit}. */
@Command(
        name = "ssm-spark",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Train and score hybrid state-space language models (Mamba-2 / SSD + attention) on Apache Spark.",
        subcommands = {
            TrainCommand.class,
            DemoCommand.class,
            ScoreCommand.class,
            NllCommand.class,
            GenerateCommand.class,
            InspectCommand.class,
            ExportCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code; tests call this instead of {@link #main}. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setParameterExceptionHandler(new ParameterErrorHandler());
        cli.setExecutionStrategy(Main::execute);
        int code = UserErrorHandler.INTERNAL_ERROR;
        try {
            code = cli.execute(args);
            return code;
        } finally {
            Interruption.ended(code);
        }
    }

    /**
     * Runs the chosen command as picocli would, telling {@link Interruption} which one runs, and handing an
     * OutOfMemoryError (which picocli lets through) to {@link UserErrorHandler} like any exception.
     */
    private static int execute(CommandLine.ParseResult parsed) {
        List<CommandLine> chosen = parsed.asCommandLineList();
        CommandLine command = chosen.get(chosen.size() - 1);
        // a subcommand is named with its parent ("bench train", not "train")
        Interruption.started(
                chosen.size() > 2
                        ? chosen.get(chosen.size() - 2).getCommandName() + " " + command.getCommandName()
                        : command.getCommandName());
        for (CommandLine c : chosen) { // the innermost command that says so wins
            if (c.getCommand() instanceof Interruption.Leaves l) {
                Interruption.leaves(l.leavesWhenInterrupted());
            }
        }
        try {
            KernelThreads.threads(); // a bad SSM_SPARK_KERNEL_THREADS fails here, once, before any work
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ExecutionException(command, e.getMessage(), e);
        }
        try {
            return new CommandLine.RunLast().execute(parsed);
        } catch (OutOfMemoryError e) {
            throw new CommandLine.ExecutionException(command, "out of memory", e);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Reads the version Maven wrote into the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"ssm-spark " + (v == null ? "(development build)" : v)};
        }
    }
}
