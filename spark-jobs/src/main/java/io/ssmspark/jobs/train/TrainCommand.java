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
    description = {
      "Trains a hybrid state-space LM by exact data-parallel gradient averaging on Spark.",
      "Options come from --config FILE (JSON, or HOCON when the name does not end in .json: {\"command\":"
          + " \"train\", \"options\": {...}}), overridden by the command line. Writes OUT/metrics.jsonl,"
          + " OUT/loss.png, OUT/summary.json, checkpoints under OUT/checkpoints/ and the final model in OUT/final/;"
          + " an OUT that already holds a run is refused unless --resume continues it or --overwrite replaces it."
    })
public final class TrainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "Job config file: JSON (*.json) or HOCON (*.conf).")
  Path jobConfig;

  @Option(names = "--model-config", paramLabel = "FILE", description = "The model's config.json.")
  String modelConfig;

  @Option(names = "--data", paramLabel = "SPEC", description = "Path, glob, Hadoop URI, or synthetic:NAME[?k=v&...].")
  String data;

  @Option(names = "--input-format", paramLabel = "FMT", description = "text, fasta, tokens-u16, tokens-i32, parquet.")
  String inputFormat;

  @Option(names = "--seq-len", paramLabel = "T", description = "Tokens per training window (default 256).")
  Integer seqLen;

  @Option(names = "--global-batch", paramLabel = "B", description = "Windows per optimizer step (default 8).")
  Integer globalBatch;

  @Option(names = "--grad-accum", paramLabel = "K",
      description = "Accumulation rounds per step; each takes B/K windows (default 1).")
  Integer gradAccum;

  @Option(names = "--micro-batch", paramLabel = "M",
      description = "Windows per forward/backward: ranks r with the same r / M form one batch (default 1).")
  Integer microBatch;

  @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps in total (default 100).")
  Integer steps;

  @Option(names = "--lr", paramLabel = "RATE", description = "Peak learning rate (default 1e-3).")
  Double lr;

  @Option(names = "--min-lr", paramLabel = "RATE", description = "Final rate of the cosine decay (default lr/10).")
  Double minLr;

  @Option(names = "--warmup", paramLabel = "STEPS", description = "Linear warmup steps (default 0).")
  Integer warmup;

  @Option(names = "--weight-decay", paramLabel = "W", description = "AdamW weight decay (default 0.1).")
  Double weightDecay;

  @Option(names = "--max-grad-norm", paramLabel = "G", description = "Global-norm clipping (default 1.0).")
  Double maxGradNorm;

  @Option(names = "--seed", paramLabel = "S", description = "Initialisation and data-order seed (default 1).")
  Long seed;

  @Option(names = "--dtype", paramLabel = "float32|float64", description = "Training precision (default float32).")
  String dtype;

  @Option(names = "--validation-fraction", paramLabel = "F",
      description = "Fraction of documents held out (default 0.05).")
  Double validationFraction;

  @Option(names = "--eval-windows", paramLabel = "N", description = "Validation windows per evaluation (default 64).")
  Integer evalWindows;

  @Option(names = "--partitions", paramLabel = "P", description = "Partitions (tasks) per step (default 2).")
  Integer partitions;

  @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local[*]).")
  String master;

  @Option(names = "--out", paramLabel = "DIR", description = "Output directory (any Hadoop FS path).")
  String out;

  @Option(names = "--resume", paramLabel = "DIR",
      description = "Continue from this training checkpoint (OUT may then hold the run being continued).")
  String resume;

  @Option(names = "--overwrite",
      description = "Remove a run already in OUT (final/, checkpoints/, metrics, summary, chart) before starting;"
          + " without it (or --resume) such an OUT is refused.")
  Boolean overwrite;

  @Option(names = "--checkpoint-every", paramLabel = "N", description = "Checkpoint every N steps (default 0: end only).")
  Integer checkpointEvery;

  @Option(names = "--eval-every", paramLabel = "K", description = "Validate every K steps (default 0: end only).")
  Integer evalEvery;

  @Option(names = "--skip-nonfinite", description = "Skip a step with a NaN/Inf loss or gradient instead of stopping.")
  Boolean skipNonfinite;

  @Option(names = "--inject-task-failure", paramLabel = "STEP:PARTITION", hidden = true,
      description = "Test hook: the first attempt of that task throws.")
  String injectTaskFailure;

  /** The options given: the job config file overlaid by the command line. */
  TrainConfig givenConfig() throws IOException {
    TrainConfig cli = new TrainConfig();
    cli.modelConfig = modelConfig;
    cli.data = data;
    cli.inputFormat = inputFormat;
    cli.seqLen = seqLen;
    cli.globalBatch = globalBatch;
    cli.gradAccum = gradAccum;
    cli.microBatch = microBatch;
    cli.steps = steps;
    cli.lr = lr;
    cli.minLr = minLr;
    cli.warmup = warmup;
    cli.weightDecay = weightDecay;
    cli.maxGradNorm = maxGradNorm;
    cli.seed = seed;
    cli.dtype = dtype;
    cli.validationFraction = validationFraction;
    cli.evalWindows = evalWindows;
    cli.partitions = partitions;
    cli.master = master;
    cli.out = out;
    cli.resume = resume;
    cli.overwrite = overwrite;
    cli.checkpointEvery = checkpointEvery;
    cli.evalEvery = evalEvery;
    cli.skipNonfinite = skipNonfinite;
    cli.injectTaskFailure = injectTaskFailure;
    TrainConfig file = jobConfig == null ? new TrainConfig() : TrainConfig.readJobConfig(jobConfig);
    return file.overlay(cli);
  }

  @Override
  public Integer call() throws IOException {
    TrainConfig given = givenConfig();
    if (given.resume == null) {
      given.withDefaults().validate(); // fail before Spark starts
    }
    SparkSession spark = SparkSessions.builder("ssm-spark train").master(given.master).build();
    Trainer.Result result = new Trainer(spark).train(given);
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.printf(Locale.ROOT, "trained %d steps: train loss %.4f, validation loss %.4f (perplexity %.3f)%s%n",
        result.steps(), result.trainLoss(), result.validationLoss(), Math.exp(result.validationLoss()),
        result.validationAnswerAccuracy().isPresent() ? String.format(Locale.ROOT, ", answer accuracy %.4f",
            result.validationAnswerAccuracy().getAsDouble()) : "");
    stdout.printf(Locale.ROOT, "final model: %s%n", result.finalCheckpoint());
    stdout.flush();
    return 0;
  }
}
