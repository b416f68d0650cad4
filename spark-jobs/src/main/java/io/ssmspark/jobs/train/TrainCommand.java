package io.ssmspark.jobs.train;

import io.ssmspark.jobs.spark.SparkSessions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ssm-spark train}: data-parallel training of a hybrid model on Spark. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        defaultValueProvider = TrainConfig.HelpDefaults.class,
        description = {
            "Trains a hybrid state-space LM by exact data-parallel gradient averaging on Spark.",
            "Options come from --config FILE (JSON, or HOCON when the name does not end in .json: {\"command\":"
                    + " \"train\", \"options\": {...}}), overridden by the command line. Writes OUT/metrics.jsonl,"
                    + " OUT/loss.png, OUT/summary.json, checkpoints under OUT/checkpoints/ and the final model in OUT/final/;"
                    + " an OUT that already holds a run is refused unless --resume continues it or --overwrite replaces it."
        })
public final class TrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Job config file: JSON (*.json) or HOCON (*.conf).")
    Path jobConfig;

    @CommandLine.Mixin
    TrainConfig options;

    /** The options given: the job config file overlaid by the command line. */
    TrainConfig givenConfig() throws IOException {
        TrainConfig cli = TrainConfig.given(spec.commandLine().getParseResult(), options);
        TrainConfig file = jobConfig == null ? new TrainConfig() : TrainConfig.readJobConfig(jobConfig);
        return file.overlay(cli);
    }

    @Override
    public Integer call() throws IOException {
        TrainConfig given = givenConfig();
        if (given.resume == null) {
            given.withDefaults().validate(); // fail before Spark starts
        }
        SparkSession spark =
                SparkSessions.builder("ssm-spark train").master(given.master).build();
        Trainer.Result result = new Trainer(spark).train(given);
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf(
                Locale.ROOT,
                "trained %d steps: train loss %.4f, validation loss %.4f (perplexity %.3f)%s%n",
                result.steps(),
                result.trainLoss(),
                result.validationLoss(),
                Math.exp(result.validationLoss()),
                result.validationAnswerAccuracy().isPresent()
                        ? String.format(
                                Locale.ROOT,
                                ", answer accuracy %.4f",
                                result.validationAnswerAccuracy().getAsDouble())
                        : "");
        stdout.printf(Locale.ROOT, "final model: %s%n", result.finalCheckpoint());
        stdout.flush();
        return 0;
    }
}
