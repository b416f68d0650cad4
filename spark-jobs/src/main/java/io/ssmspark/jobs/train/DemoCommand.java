package io.ssmspark.jobs.train;

import io.ssmspark.data.DataSpec;
import io.ssmspark.data.synthetic.AssociativeRecall;
import io.ssmspark.data.synthetic.SyntheticCorpora;
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
 * {@code ssm-spark demo}: trains a small hybrid (a Mamba-2 layer, then an attention layer) on the built-in
 * synthetic:associative-recall corpus in Spark local mode, then scores the validation split and says what it learned:
 * its answer accuracy (how often it names the right value at an answer position) against chance, and its loss
 * beside the corpus's unigram loss (what counting tokens achieves) and ideal loss (the generator itself).
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Trains a small hybrid model on a built-in corpus in local mode, and shows what it learned.",
      "It trains on synthetic:associative-recall (a few minutes), logging the loss each step, then scores the",
      "validation split: how often it names the right value after a queried key, and its loss against the corpus's",
      "unigram and ideal losses."
    })
public final class DemoCommand implements Callable<Integer> {
  /** Key-value pairs per document; each is queried once. */
  static final int PAIRS = 4;
  /** Keys and values each come from their own 16 ids. */
  static final int SYMBOLS = 16;
  static final String DATA = "synthetic:associative-recall?documents=8000&pairs=" + PAIRS + "&keys=" + SYMBOLS
      + "&values=" + SYMBOLS;
  /** A document is 4·PAIRS tokens plus its separator. */
  static final int DOCUMENT_TOKENS = 4 * PAIRS + 1;
  /**
   * Whole documents per window: windows then start at document starts, so every queried pair lies in the window
   * of its query.
   */
  static final int DOCUMENTS_PER_WINDOW = 8;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--out", defaultValue = "runs/demo", paramLabel = "DIR",
      description = "Output directory; a run already there is replaced (default: ${DEFAULT-VALUE}).")
  String out;

  @Option(names = "--steps", defaultValue = "800", paramLabel = "N",
      description = "Steps, at least 1 (default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--master", defaultValue = "local[2]", paramLabel = "URL",
      description = "Spark master (default: ${DEFAULT-VALUE}).")
  String master;

  /** The demo's model: d_model 64, a Mamba-2 layer then an attention layer, each with a gated MLP; 33 ids. */
  static MambaConfig demoModel() {
    return MambaConfig.builder().dModel(64).nLayer(2).vocabSize(2 * SYMBOLS + 1).padVocabSizeMultiple(8)
        .dIntermediate(128)
        .ssm(SsmConfig.builder().dState(16).dConv(4).expand(2).headdim(16).ngroups(1).chunkSize(32).build())
        .attnLayerIdx(List.of(1))
        .attn(AttnConfig.builder().numHeads(4).numHeadsKv(4).headDim(16).rotaryEmbDim(16).build())
        .tieEmbeddings(true).build();
  }

  /** The demo's run options, before --out and --master; warmup is a tenth of the steps, at most 20. */
  static TrainConfig demoRun(String modelConfigPath, int steps) {
    TrainConfig c = new TrainConfig();
    c.modelConfig = modelConfigPath;
    c.data = DATA;
    c.seqLen = DOCUMENTS_PER_WINDOW * DOCUMENT_TOKENS;
    c.globalBatch = 8;
    c.microBatch = 4;
    c.lr = 3e-3;
    c.minLr = 1e-3;
    c.steps = steps;
    c.warmup = Math.min(20, steps / 10);
    c.weightDecay = 0.01;
    c.seed = 1L;
    c.partitions = 2;
    c.evalEvery = 100;
    c.evalWindows = 1_000_000; // the whole validation split
    return c;
  }

  @Override
  public Integer call() throws IOException {
    if (steps < 1) {
      throw new IllegalArgumentException("--steps must be at least 1, found " + steps);
    }
    SparkSession spark = SparkSessions.builder("ssm-spark demo").master(master).build();
    RunFiles files = new RunFiles(spark.sparkContext().hadoopConfiguration());
    String modelConfig = RunFiles.child(out, "model-config.json");
    files.writeAtomically(modelConfig, demoModel().toJson().getBytes(StandardCharsets.UTF_8));
    TrainConfig run = demoRun(modelConfig, steps);
    run.out = out;
    run.master = master;
    run.overwrite = true; // each demo replaces its previous run in the same --out
    Trainer.Result result = new Trainer(spark).train(run);
    DataSpec spec = DataSpec.parse(DATA);
    AssociativeRecall corpus = (AssociativeRecall) SyntheticCorpora.create(spec.syntheticName(), spec.parameters());
    PrintWriter stdout = this.spec.commandLine().getOut();
    new DemoReport(corpus, result, run.seqLen).print(stdout);
    stdout.printf(Locale.ROOT, "outputs: %s/metrics.jsonl, %s/loss.png, %s/summary.json, model in %s%n", out, out,
        out, result.finalCheckpoint());
    stdout.flush();
    return 0;
  }
}
