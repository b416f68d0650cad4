package io.ssmspark.jobs.baseline;

import io.ssmspark.jobs.bench.JsonLine;
import io.ssmspark.jobs.spark.SparkSessions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark bench dl4j-baseline}: trains the DL4J LSTM baseline through dl4j-spark for a wall-time
 * budget and prints one JSON line with its tokens/s and validation loss. No DL4J type appears in this
 * class, so the CLI loads (and {@code --help} works) without dl4j-spark on the classpath.
 */
@Command(
        name = "dl4j-baseline",
        mixinStandardHelpOptions = true,
        description = {
            "Train a DL4J LSTM language model through dl4j-spark (ParameterAveragingTrainingMaster) on the same "
                    + "windows ssm-spark trains on, for a wall-time budget; print one JSON line with tokens/s and the "
                    + "validation loss (mean NLL per token, nats), comparable with ssm-spark's train.",
            "ND4J threads per task are set to cores / concurrent tasks for local[k]; on a cluster set the "
                    + "executors' OMP_NUM_THREADS so (oversubscribing halved the speed here)."
        })
public final class Dl4jBaselineBench implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--data",
            defaultValue = "synthetic:associative-recall",
            paramLabel = "SPEC",
            description = "Path, glob, Hadoop URI, or synthetic:NAME[?k=v&...] (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--input-format", paramLabel = "FMT", description = "text, fasta, tokens-u16, tokens-i32, parquet.")
    String inputFormat;

    @Option(
            names = "--seq-len",
            defaultValue = "1024",
            paramLabel = "T",
            description = "Tokens per training window (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(
            names = "--batch",
            defaultValue = "4",
            paramLabel = "B",
            description = "Windows per minibatch on each worker (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(
            names = "--hidden",
            defaultValue = "256",
            paramLabel = "H",
            description = "LSTM units (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(
            names = "--layers",
            defaultValue = "2",
            paramLabel = "L",
            description = "LSTM layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(
            names = "--lr",
            defaultValue = "1e-3",
            paramLabel = "RATE",
            description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(
            names = "--seed",
            defaultValue = "1",
            paramLabel = "S",
            description = "Initialisation and data-order seed (default: ${DEFAULT-VALUE}, as ssm-spark train).")
    long seed;

    @Option(
            names = "--partitions",
            defaultValue = "2",
            paramLabel = "P",
            description = "Partitions, one dl4j-spark worker each (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(
            names = "--master",
            defaultValue = "local[2]",
            paramLabel = "URL",
            description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(
            names = "--seconds",
            defaultValue = "120",
            paramLabel = "S",
            description =
                    "Wall-time budget of the training loop; the round under way finishes (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(
            names = "--steps",
            defaultValue = "0",
            paramLabel = "N",
            description = "Stop after N averaging rounds if sooner; 0: no limit (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(
            names = "--averaging-frequency",
            defaultValue = "1",
            paramLabel = "K",
            description = "Minibatches each worker fits between parameter averagings (default: ${DEFAULT-VALUE}).")
    int averagingFrequency;

    @Option(
            names = "--validation-fraction",
            defaultValue = "0.05",
            paramLabel = "F",
            description = "Share of documents held out, as ssm-spark train (default: ${DEFAULT-VALUE}).")
    double validationFraction;

    @Option(
            names = "--eval-windows",
            defaultValue = "64",
            paramLabel = "N",
            description =
                    "Validation windows scored, the first by rank, as ssm-spark train (default: ${DEFAULT-VALUE}).")
    int evalWindows;

    @Option(
            names = "--approach",
            defaultValue = "direct",
            paramLabel = "direct|export",
            description = "dl4j-spark's RDD training approach (default: ${DEFAULT-VALUE}).")
    String approach;

    @Option(
            names = "--export-dir",
            paramLabel = "DIR",
            description = "Where the export approach makes its temporary directory, deleted at the end "
                    + "(default: the system temp directory; on a cluster a shared FS path).")
    String exportDir;

    @Override
    public Integer call() throws IOException {
        BaselineSettings settings = settings();
        SparkSession spark = SparkSessions.builder("ssm-spark dl4j-baseline")
                .master(master)
                .conf("spark.kryo.registrator", Dl4jLstmBaseline.KRYO_REGISTRATORS)
                .build();
        try {
            BaselineResult r = runBaseline(spark, settings);
            spec.commandLine().getOut().println(json(settings, r));
            spec.commandLine().getOut().flush();
        } finally {
            spark.stop();
        }
        return 0;
    }

    BaselineSettings settings() {
        BaselineSettings.Approach a = switch (approach.toLowerCase(Locale.ROOT)) {
            case "direct" -> BaselineSettings.Approach.DIRECT;
            case "export" -> BaselineSettings.Approach.EXPORT;
            default ->
                throw new IllegalArgumentException(
                        "--approach: expected direct or export but found '" + approach + "'");
        };
        String parent = exportDir != null ? exportDir : "file:" + System.getProperty("java.io.tmpdir");
        return new BaselineSettings(
                data,
                inputFormat,
                seqLen,
                batch,
                hidden,
                layers,
                lr,
                seed,
                partitions,
                seconds,
                steps,
                averagingFrequency,
                validationFraction,
                evalWindows,
                a,
                parent);
    }

    /** Runs the baseline, turning a missing dl4j-spark into one clear error. */
    private static BaselineResult runBaseline(SparkSession spark, BaselineSettings settings) throws IOException {
        try {
            return Dl4jLstmBaseline.run(spark, settings);
        } catch (NoClassDefFoundError e) {
            if (e.getMessage() != null && e.getMessage().startsWith("org/deeplearning4j")) {
                throw new IllegalStateException(
                        "dl4j-spark is not on the classpath (missing " + e.getMessage()
                                + "): it is not in the job jar; run through bin/ssm-spark in local mode after `mvn package`, "
                                + "or give spark-submit its jars (spark-jobs/target/spark-classpath.txt lists them)",
                        e);
            }
            throw e;
        }
    }

    /** The JSON line of one run. */
    public static JsonLine json(BaselineSettings s, BaselineResult r) {
        JsonLine out = new JsonLine()
                .put("bench", "dl4j-baseline")
                .put("model", "dl4j-lstm")
                .put("data", s.data())
                .put("vocab", r.vocab())
                .put("hidden", s.hidden())
                .put("layers", s.layers())
                .put("params", r.parameters())
                .put("seq_len", s.seqLen())
                .put("batch", s.batch())
                .put("partitions", s.partitions())
                .put("averaging_frequency", s.averagingFrequency())
                .put("approach", s.approach().name().toLowerCase(Locale.ROOT))
                .put("seconds", r.seconds())
                .put("cpu_seconds", r.cpuSeconds())
                .put("steps", r.steps())
                .put("tokens_trained", r.tokensTrained())
                .put("tokens_per_s", r.tokensPerSecond())
                .put("first_step_seconds", r.firstStepSeconds());
        if (r.steps() >= 2) {
            out.put("steady_tokens_per_s", r.steadyTokensPerSecond());
        }
        out.put("validation_loss", r.validationLoss())
                .put("validation_windows", r.validationWindows())
                .put("validation_tokens", r.validationTokens());
        if (!Double.isNaN(r.unigramLoss())) {
            out.put("unigram_loss", r.unigramLoss());
        }
        if (s.approach() == BaselineSettings.Approach.EXPORT) {
            out.put("export_bytes", r.exportBytes());
        }
        return out.put(
                        "omp_threads",
                        r.threadsPerTask() > 0
                                ? (Object) r.threadsPerTask()
                                : System.getenv().getOrDefault("OMP_NUM_THREADS", "default"))
                .put(
                        "load_average",
                        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
}
