package io.ssmspark.jobs.train;

import io.ssmspark.data.DataSpec;
import io.ssmspark.data.synthetic.InductionCopy;
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
 * synthetic:induction-copy corpus in Spark local mode (random symbols, a marker, the same symbols again: the copy is
 * predictable only by retrieving what the window showed once), then scores the validation split and says what it
 * learned: its answer accuracy (how often it writes the right symbol in the copy) against chance, and its loss beside
 * the corpus's unigram loss (what counting tokens achieves) and ideal loss (the generator itself).
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Trains a small hybrid model on a built-in corpus in local mode, and shows what it learned.",
            "It trains on synthetic:induction-copy (about a minute), logging the loss each step, then scores the",
            "validation split: how often it writes the right symbol when copying a sequence it has seen once, and its",
            "loss against the corpus's unigram and ideal losses."
        })
public final class DemoCommand implements Callable<Integer> {
    /** Random symbols per document, then the copy marker and the same symbols again. */
    static final int LENGTH = 16;
    /** Symbols are drawn from this many ids. */
    static final int SYMBOLS = 32;

    static final String DATA = "synthetic:induction-copy?documents=4000&length=" + LENGTH + "&alphabet=" + SYMBOLS;
    /** A document is the symbols, the marker, the copy, and its separator. */
    static final int DOCUMENT_TOKENS = 2 * LENGTH + 2;
    /** Whole documents per window: windows then start at document starts, so each copy lies in its original's window. */
    static final int DOCUMENTS_PER_WINDOW = 4;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--out",
            defaultValue = "runs/demo",
            paramLabel = "DIR",
            description = "Output directory; a run already there is replaced (default: ${DEFAULT-VALUE}).")
    String out;

    @Option(
            names = "--steps",
            defaultValue = "300",
            paramLabel = "N",
            description = "Steps, at least 1 (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(
            names = "--master",
            defaultValue = "local[2]",
            paramLabel = "URL",
            description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master;

    /** The demo's model: d_model 64, a Mamba-2 layer then an attention layer, each with a gated MLP; 34 ids. */
    static MambaConfig demoModel() {
        return MambaConfig.builder()
                .dModel(64)
                .nLayer(2)
                .vocabSize(SYMBOLS + 2)
                .padVocabSizeMultiple(8)
                .dIntermediate(128)
                .ssm(SsmConfig.builder()
                        .dState(16)
                        .dConv(4)
                        .expand(2)
                        .headdim(16)
                        .ngroups(1)
                        .chunkSize(32)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(4)
                        .numHeadsKv(4)
                        .headDim(16)
                        .rotaryEmbDim(16)
                        .build())
                .tieEmbeddings(true)
                .build();
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
        c.evalEvery = 50;
        c.evalWindows = 1_000_000; // the whole validation split
        return c;
    }

    @Override
    public Integer call() throws IOException {
        if (steps < 1) {
            throw new IllegalArgumentException("--steps must be at least 1, found " + steps);
        }
        SparkSession spark =
                SparkSessions.builder("ssm-spark demo").master(master).build();
        RunFiles files = new RunFiles(spark.sparkContext().hadoopConfiguration());
        String modelConfig = RunFiles.child(out, "model-config.json");
        files.writeAtomically(modelConfig, demoModel().toJson().getBytes(StandardCharsets.UTF_8));
        TrainConfig run = demoRun(modelConfig, steps);
        run.out = out;
        run.master = master;
        run.overwrite = true; // each demo replaces its previous run in the same --out
        Trainer.Result result = new Trainer(spark).train(run);
        DataSpec spec = DataSpec.parse(DATA);
        InductionCopy corpus = (InductionCopy) SyntheticCorpora.create(spec.syntheticName(), spec.parameters());
        PrintWriter stdout = this.spec.commandLine().getOut();
        new DemoReport(corpus, result, run.seqLen).print(stdout);
        stdout.printf(
                Locale.ROOT,
                "outputs: %s/metrics.jsonl, %s/loss.png, %s/summary.json, model in %s%n",
                out,
                out,
                out,
                result.finalCheckpoint());
        stdout.flush();
        return 0;
    }
}
