package io.ssmspark.jobs.train;

import io.ssmspark.data.DataSpec;
import io.ssmspark.data.synthetic.SyntheticCorpora;
import io.ssmspark.data.synthetic.SyntheticCorpus;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark demo}: trains a small hybrid (4 layers, attention at layer 2) on the built-in
 * synthetic:associative-recall corpus in Spark local mode, then scores the validation split and prints its loss
 * beside the corpus's unigram loss (what counting tokens achieves) and ideal loss (the generator itself).
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Trains a small hybrid model on a built-in corpus in local mode, and shows what it learned.",
      "It trains on synthetic:associative-recall (a few minutes), logging the loss each step, then scores the",
      "validation split against the corpus's unigram and ideal losses."
    })
public final class DemoCommand implements Callable<Integer> {
  static final String DATA = "synthetic:associative-recall?documents=4000";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--out", defaultValue = "runs/demo", paramLabel = "DIR",
      description = "Output directory (default: ${DEFAULT-VALUE}).")
  String out;

  @Option(names = "--steps", defaultValue = "200", paramLabel = "N", description = "Steps (default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--master", defaultValue = "local[2]", paramLabel = "URL",
      description = "Spark master (default: ${DEFAULT-VALUE}).")
  String master;

  /** The demo's model: d_model 64, 4 layers (layer 2 attention), d_intermediate 128, the corpus's 129 ids. */
  static MambaConfig demoModel() {
    return MambaConfig.builder().dModel(64).nLayer(4).vocabSize(129).padVocabSizeMultiple(8).dIntermediate(128)
        .ssm(SsmConfig.builder().dState(16).dConv(4).expand(2).headdim(16).ngroups(1).chunkSize(32).build())
        .attnLayerIdx(List.of(2))
        .attn(AttnConfig.builder().numHeads(4).numHeadsKv(4).headDim(16).rotaryEmbDim(16).build())
        .tieEmbeddings(true).build();
  }

  /** The demo's run options, before --out and --master; warmup is a tenth of the steps, at most 20. */
  static TrainConfig demoRun(String modelConfigPath, int steps) {
    TrainConfig c = new TrainConfig();
    c.modelConfig = modelConfigPath;
    c.data = DATA;
    c.seqLen = 64;
    c.globalBatch = 8;
    c.microBatch = 4;
    c.lr = 3e-3;
    c.minLr = 3e-4;
    c.steps = steps;
    c.warmup = Math.min(20, steps / 10);
    c.weightDecay = 0.01;
    c.seed = 1L;
    c.partitions = 2;
    c.evalEvery = 50;
    c.evalWindows = 1_000_000; // the whole validation split
    return c;
  }

  @Override
  public Integer call() throws IOException {
    SparkSession spark = SparkSessions.builder("ssm-spark demo").master(master).build();
    RunFiles files = new RunFiles(spark.sparkContext().hadoopConfiguration());
    String modelConfig = RunFiles.child(out, "model-config.json");
    files.writeAtomically(modelConfig, demoModel().toJson().getBytes(StandardCharsets.UTF_8));
    TrainConfig run = demoRun(modelConfig, steps);
    run.out = out;
    run.master = master;
    Trainer.Result result = new Trainer(spark).train(run);
    DataSpec spec = DataSpec.parse(DATA);
    SyntheticCorpus corpus = SyntheticCorpora.create(spec.syntheticName(), spec.parameters());
    PrintWriter stdout = this.spec.commandLine().getOut();
    stdout.printf(Locale.ROOT, "%s%n", corpus.describe());
    stdout.printf(Locale.ROOT, "after %d steps, validation split (%d windows of %d tokens):%n", result.steps(),
        result.validationWindows(), run.seqLen);
    stdout.printf(Locale.ROOT, "  model loss   %.4f nats/token (perplexity %.2f)%n", result.validationLoss(),
        Math.exp(result.validationLoss()));
    stdout.printf(Locale.ROOT, "  unigram loss %.4f nats/token%n", corpus.unigramLoss());
    stdout.printf(Locale.ROOT, "  ideal loss   %.4f nats/token%n", corpus.idealLoss());
    stdout.printf(Locale.ROOT, "outputs: %s/metrics.jsonl, %s/loss.png, %s/summary.json, model in %s%n", out, out,
        out, result.finalCheckpoint());
    stdout.flush();
    return 0;
  }
}
