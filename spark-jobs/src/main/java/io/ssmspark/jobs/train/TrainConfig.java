package io.ssmspark.jobs.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.ssmspark.jobs.spark.Precision;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The options of one training run, each defined once here: its JSON name, its command-line option (this class is
 * {@code train}'s picocli mixin) and, in {@link #defaults}, its default, which the help shows through
 * {@code ${DEFAULT-VALUE}} ({@link HelpDefaults}). Every field is nullable: a value comes from, in increasing
 * priority, the defaults ({@link #withDefaults}), a job config file ({@link #readJobConfig}), the checkpoint being
 * resumed, and the command line ({@link #given}). JSON names equal the command-line option names.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class TrainConfig {
    @JsonProperty("model-config")
    @Option(names = "--model-config", paramLabel = "FILE", description = "The model's config.json.")
    public String modelConfig;

    @JsonProperty("data")
    @Option(names = "--data", paramLabel = "SPEC", description = "Path, glob, Hadoop URI, or synthetic:NAME[?k=v&...].")
    public String data;

    @JsonProperty("input-format")
    @Option(names = "--input-format", paramLabel = "FMT", description = "text, fasta, tokens-u16, tokens-i32, parquet.")
    public String inputFormat;

    @JsonProperty("tokenizer")
    @Option(
            names = "--tokenizer",
            paramLabel = "PATH",
            description = "Encode text data with this Hugging Face tokenizer.json (or a model directory holding one)"
                    + " instead of a token per byte.")
    public String tokenizer;

    @JsonProperty("seq-len")
    @Option(
            names = "--seq-len",
            paramLabel = "T",
            description = "Tokens per training window (default ${DEFAULT-VALUE}).")
    public Integer seqLen;

    @JsonProperty("global-batch")
    @Option(
            names = "--global-batch",
            paramLabel = "B",
            description = "Windows per optimizer step (default ${DEFAULT-VALUE}).")
    public Integer globalBatch;

    @JsonProperty("grad-accum")
    @Option(
            names = "--grad-accum",
            paramLabel = "K",
            description = "Accumulation rounds per step; each takes B/K windows (default ${DEFAULT-VALUE}).")
    public Integer gradAccum;

    @JsonProperty("micro-batch")
    @Option(
            names = "--micro-batch",
            paramLabel = "M",
            description =
                    "Windows per forward/backward: ranks r with the same r / M form one batch (default ${DEFAULT-VALUE}).")
    public Integer microBatch;

    @JsonProperty("steps")
    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps in total (default ${DEFAULT-VALUE}).")
    public Integer steps;

    @JsonProperty("lr")
    @Option(names = "--lr", paramLabel = "RATE", description = "Peak learning rate (default ${DEFAULT-VALUE}).")
    public Double lr;

    @JsonProperty("min-lr")
    @Option(names = "--min-lr", paramLabel = "RATE", description = "Final rate of the cosine decay (default lr/10).")
    public Double minLr;

    @JsonProperty("warmup")
    @Option(names = "--warmup", paramLabel = "STEPS", description = "Linear warmup steps (default ${DEFAULT-VALUE}).")
    public Integer warmup;

    @JsonProperty("weight-decay")
    @Option(names = "--weight-decay", paramLabel = "W", description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    public Double weightDecay;

    @JsonProperty("max-grad-norm")
    @Option(
            names = "--max-grad-norm",
            paramLabel = "G",
            description = "Global-norm clipping (default ${DEFAULT-VALUE}).")
    public Double maxGradNorm;

    @JsonProperty("seed")
    @Option(
            names = "--seed",
            paramLabel = "S",
            description = "Initialisation and data-order seed (default ${DEFAULT-VALUE}).")
    public Long seed;

    @JsonProperty("dtype")
    @Option(
            names = "--dtype",
            paramLabel = "float32|float64",
            description = "Training precision (default ${DEFAULT-VALUE}).")
    public String dtype;

    @JsonProperty("validation-fraction")
    @Option(
            names = "--validation-fraction",
            paramLabel = "F",
            description = "Fraction of documents held out (default ${DEFAULT-VALUE}).")
    public Double validationFraction;

    @JsonProperty("eval-windows")
    @Option(
            names = "--eval-windows",
            paramLabel = "N",
            description = "Validation windows per evaluation (default ${DEFAULT-VALUE}).")
    public Integer evalWindows;

    @JsonProperty("partitions")
    @Option(
            names = "--partitions",
            paramLabel = "P",
            description = "Partitions (tasks) per step (default ${DEFAULT-VALUE}).")
    public Integer partitions;

    @JsonProperty("sequence-parallel")
    @Option(
            names = "--sequence-parallel",
            paramLabel = "S",
            description = "Cut each window into S parts held by S tasks of one barrier stage, which pass each layer's"
                    + " state summaries and halo rows forward and their gradients back; --partitions P then counts"
                    + " data-parallel groups, P x S tasks at once (default ${DEFAULT-VALUE}: whole windows).")
    public Integer sequenceParallel;

    @JsonProperty("reduce")
    @Option(
            names = "--reduce",
            paramLabel = "driver|sharded|auto",
            description = "How a step's gradients are added: driver (every task's whole gradient to the driver, which"
                    + " holds the optimizer), sharded (through Spark shuffles to --reduce-shards reducers on the"
                    + " executors, which hold the optimizer state in shards), or auto: sharded once the driver would"
                    + " receive more than " + ShardedReduceChoice.AUTO_MAX_DRIVER_BYTES_TEXT + " of gradients per"
                    + " step (partitions x grad-accum x 12 bytes x parameters) (default ${DEFAULT-VALUE}). The numbers"
                    + " are the same bits either way.")
    public String reduce;

    @JsonProperty("reduce-shards")
    @Option(
            names = "--reduce-shards",
            paramLabel = "K",
            description = "Shards of the sharded reduce (0: one per partition; default ${DEFAULT-VALUE}).")
    public Integer reduceShards;

    @JsonProperty("master")
    @Option(
            names = "--master",
            paramLabel = "URL",
            description = "Spark master (default: spark-submit's, else local[*]).")
    public String master;

    @JsonProperty("out")
    @Option(names = "--out", paramLabel = "DIR", description = "Output directory (any Hadoop FS path).")
    public String out;

    @JsonProperty("resume")
    @Option(
            names = "--resume",
            paramLabel = "DIR",
            description = "Continue from this training checkpoint (OUT may then hold the run being continued).")
    public String resume;

    /** Remove a run already in out before starting (otherwise such an out is refused unless resuming). */
    @JsonProperty("overwrite")
    @Option(
            names = "--overwrite",
            description = "Remove a run already in OUT (final/, checkpoints/, metrics, summary, chart) before starting;"
                    + " without it (or --resume) such an OUT is refused.")
    public Boolean overwrite;

    @JsonProperty("checkpoint-every")
    @Option(
            names = "--checkpoint-every",
            paramLabel = "N",
            description = "Checkpoint every N steps (default ${DEFAULT-VALUE}: end only).")
    public Integer checkpointEvery;

    @JsonProperty("eval-every")
    @Option(
            names = "--eval-every",
            paramLabel = "K",
            description = "Validate every K steps (default ${DEFAULT-VALUE}: end only).")
    public Integer evalEvery;

    @JsonProperty("skip-nonfinite")
    @Option(
            names = "--skip-nonfinite",
            description = "Skip a step with a NaN/Inf loss or gradient instead of stopping.")
    public Boolean skipNonfinite;

    /** Test hook: "STEP:PARTITION" (a training task) or "reduce:STEP:SHARD" (a reducer) makes that task's first attempt throw (Spark retries it). */
    @JsonProperty("inject-task-failure")
    @Option(
            names = "--inject-task-failure",
            paramLabel = "STEP:PARTITION",
            hidden = true,
            description = "Test hook: the first attempt of that task throws.")
    public String injectTaskFailure;

    /**
     * The options that decide the numbers a run produces: resuming with a different value of any of them would
     * not continue the same run, so {@link #requireSameMath} refuses it.
     */
    static final List<String> MATH_OPTIONS = List.of(
            "model-config",
            "data",
            "input-format",
            "tokenizer",
            "seq-len",
            "global-batch",
            "grad-accum",
            "micro-batch",
            "lr",
            "min-lr",
            "warmup",
            "weight-decay",
            "max-grad-norm",
            "seed",
            "dtype",
            "validation-fraction",
            "eval-windows");

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** The built-in defaults; model-config, data and out have none. */
    public static TrainConfig defaults() {
        TrainConfig d = new TrainConfig();
        d.seqLen = 256;
        d.globalBatch = 8;
        d.gradAccum = 1;
        d.microBatch = 1;
        d.steps = 100;
        d.lr = 1e-3;
        d.warmup = 0;
        d.weightDecay = 0.1;
        d.maxGradNorm = 1.0;
        d.seed = 1L;
        d.dtype = "float32";
        d.validationFraction = 0.05;
        d.evalWindows = 64;
        d.partitions = 2;
        d.sequenceParallel = 1;
        d.reduce = "auto";
        d.reduceShards = 0;
        d.checkpointEvery = 0;
        d.evalEvery = 0;
        d.skipNonfinite = false;
        d.overwrite = false;
        return d;
    }

    /** A copy where every non-null field of {@code top} replaces this one's. */
    public TrainConfig overlay(TrainConfig top) {
        TrainConfig merged = copy();
        for (Field f : TrainConfig.class.getDeclaredFields()) {
            if (f.isAnnotationPresent(JsonProperty.class)) {
                try {
                    Object v = f.get(top);
                    if (v != null) {
                        f.set(merged, v);
                    }
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return merged;
    }

    /**
     * The options the command line gave, parsed into {@code mixin}: only those the user typed (picocli fills the
     * others from {@link HelpDefaults}, which must not override a job config file or a resumed checkpoint).
     */
    static TrainConfig given(CommandLine.ParseResult parsed, TrainConfig mixin) {
        TrainConfig given = new TrainConfig();
        for (CommandLine.Model.OptionSpec o : parsed.matchedOptions()) {
            if (o.userObject() instanceof Field f && f.getDeclaringClass() == TrainConfig.class) {
                try {
                    f.set(given, f.get(mixin));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return given;
    }

    /** The defaults as picocli's default values, so that help texts show them through ${DEFAULT-VALUE}. */
    public static final class HelpDefaults implements CommandLine.IDefaultValueProvider {
        private static final JsonNode DEFAULTS = JSON.valueToTree(defaults());

        @Override
        public String defaultValue(CommandLine.Model.ArgSpec arg) {
            if (!(arg instanceof CommandLine.Model.OptionSpec o)
                    || !o.longestName().startsWith("--")) {
                return null;
            }
            JsonNode value = DEFAULTS.get(o.longestName().substring(2));
            return value == null ? null : value.asText();
        }
    }

    public TrainConfig copy() {
        return JSON.convertValue(JSON.valueToTree(this), TrainConfig.class);
    }

    /** {@code defaults()} overlaid by this, with min-lr defaulting to lr / 10. */
    public TrainConfig withDefaults() {
        TrainConfig c = defaults().overlay(this);
        if (c.minLr == null) {
            c.minLr = c.lr / 10;
        }
        return c;
    }

    /**
     * Reads a job config file, JSON (*.json) or HOCON (any other name, see {@link JobConfigFile}):
     * {@code {"command": "train", "options": {"seq-len": 256, ...}}} (as in cluster-conf/examples; "about" and
     * "properties_file" are for people and the launcher).
     */
    public static TrainConfig readJobConfig(Path file) throws IOException {
        JsonNode root = JobConfigFile.read(file);
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected an object with \"options\"");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!List.of("command", "about", "properties_file", "options").contains(name)) {
                throw new IllegalArgumentException(
                        file + ": unknown field '" + name + "', expected command, about, properties_file or options");
            }
        }
        if (root.has("command") && !"train".equals(root.get("command").asText())) {
            throw new IllegalArgumentException(
                    file + ": field 'command' is '" + root.get("command").asText() + "', expected 'train'");
        }
        JsonNode options = root.path("options");
        if (!options.isObject()) {
            throw new IllegalArgumentException(file + ": field 'options' must be an object of train options");
        }
        try {
            return JSON.treeToValue(options, TrainConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException(file + ": options." + e.getPropertyName() + " is not a train option");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": options: " + e.getOriginalMessage());
        }
    }

    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static TrainConfig fromJson(String json, String source) {
        try {
            return JSON.readValue(json, TrainConfig.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": run config: " + e.getOriginalMessage());
        }
    }

    /**
     * Refuses a resume whose explicitly given options change the math of the stored run, naming each option with
     * the stored and the given value.
     */
    public static void requireSameMath(TrainConfig stored, TrainConfig given, String checkpoint) {
        JsonNode s = JSON.valueToTree(stored);
        JsonNode g = JSON.valueToTree(given);
        List<String> differences = new ArrayList<>();
        for (String option : MATH_OPTIONS) {
            if (g.has(option) && !Objects.equals(g.get(option), s.get(option))) {
                differences.add("--" + option + " " + g.get(option) + " (the checkpoint has " + s.get(option) + ")");
            }
        }
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException("--resume " + checkpoint + ": cannot change options that decide the"
                    + " numbers of the run: " + String.join(", ", differences));
        }
    }

    /** Checks every value of a complete config (after {@link #withDefaults}); one message per problem found first. */
    public void validate() {
        require(modelConfig != null, "--model-config: required (a config.json of the model to train)");
        require(data != null, "--data: required (a path, glob or Hadoop URI, or synthetic:NAME)");
        require(out != null, "--out: required (the run's output directory, any Hadoop FS path)");
        positive("seq-len", seqLen);
        positive("global-batch", globalBatch);
        positive("grad-accum", gradAccum);
        positive("micro-batch", microBatch);
        positive("steps", steps);
        positive("partitions", partitions);
        positive("sequence-parallel", sequenceParallel);
        require(
                sequenceParallel <= seqLen,
                "--sequence-parallel " + sequenceParallel + " cannot cut a window of --seq-len " + seqLen
                        + " into non-empty parts");
        require(
                sequenceParallel == 1 || microBatch == 1,
                "--micro-batch " + microBatch + ": with --sequence-parallel " + sequenceParallel
                        + " each task runs its part of one window at a time; use --micro-batch 1");
        positive("eval-windows", evalWindows);
        ShardedReduceChoice.validate(this);
        nonNegative("warmup", warmup);
        nonNegative("checkpoint-every", checkpointEvery);
        nonNegative("eval-every", evalEvery);
        require(
                globalBatch % gradAccum == 0,
                "--global-batch " + globalBatch + " must be a multiple of --grad-accum " + gradAccum
                        + " (each accumulation round takes global-batch / grad-accum windows)");
        require(
                (globalBatch / gradAccum) % microBatch == 0,
                "--micro-batch " + microBatch + " must divide the "
                        + (globalBatch / gradAccum) + " windows of each accumulation round (--global-batch "
                        + globalBatch
                        + " / --grad-accum " + gradAccum + ")");
        require(Double.isFinite(lr) && lr > 0, "--lr: expected a finite number > 0 but found " + lr);
        require(
                Double.isFinite(minLr) && minLr >= 0 && minLr <= lr,
                "--min-lr: expected a number in [0, --lr = " + lr + "] but found " + minLr);
        require(warmup <= steps, "--warmup " + warmup + " must not exceed --steps " + steps);
        require(
                Double.isFinite(weightDecay) && weightDecay >= 0,
                "--weight-decay: expected a finite number >= 0 but found " + weightDecay);
        require(
                maxGradNorm > 0,
                "--max-grad-norm: expected a number > 0 (Infinity turns clipping off) but found " + maxGradNorm);
        require(
                validationFraction > 0 && validationFraction < 1,
                "--validation-fraction: expected a number in (0, 1) but found " + validationFraction);
        dataType();
        if (injectTaskFailure != null) {
            FaultInjection.parse(injectTaskFailure);
        }
    }

    /** FLOAT for float32, DOUBLE for float64. */
    public DataType dataType() {
        return Precision.parse("--dtype", dtype);
    }

    private static void positive(String option, Integer value) {
        require(value != null && value > 0, "--" + option + ": expected an integer >= 1 but found " + value);
    }

    private static void nonNegative(String option, Integer value) {
        require(value != null && value >= 0, "--" + option + ": expected an integer >= 0 but found " + value);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
