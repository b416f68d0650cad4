package io.ssmspark.jobs.train;

import io.ssmspark.jobs.cli.Precision;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The options of one training run. Every field is nullable: a value comes from, in increasing priority, the
 * defaults ({@link #withDefaults}), a job config file ({@link #readJobConfig}), the checkpoint being resumed, and
 * the command line ({@link #overlay}). JSON names equal the command-line option names.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class TrainConfig {
  @JsonProperty("model-config") public String modelConfig;
  @JsonProperty("data") public String data;
  @JsonProperty("input-format") public String inputFormat;
  @JsonProperty("seq-len") public Integer seqLen;
  @JsonProperty("global-batch") public Integer globalBatch;
  @JsonProperty("grad-accum") public Integer gradAccum;
  @JsonProperty("micro-batch") public Integer microBatch;
  @JsonProperty("steps") public Integer steps;
  @JsonProperty("lr") public Double lr;
  @JsonProperty("min-lr") public Double minLr;
  @JsonProperty("warmup") public Integer warmup;
  @JsonProperty("weight-decay") public Double weightDecay;
  @JsonProperty("max-grad-norm") public Double maxGradNorm;
  @JsonProperty("seed") public Long seed;
  @JsonProperty("dtype") public String dtype;
  @JsonProperty("validation-fraction") public Double validationFraction;
  @JsonProperty("eval-windows") public Integer evalWindows;
  @JsonProperty("partitions") public Integer partitions;
  @JsonProperty("master") public String master;
  @JsonProperty("out") public String out;
  @JsonProperty("resume") public String resume;
  /** Remove a run already in out before starting (otherwise such an out is refused unless resuming). */
  @JsonProperty("overwrite") public Boolean overwrite;
  @JsonProperty("checkpoint-every") public Integer checkpointEvery;
  @JsonProperty("eval-every") public Integer evalEvery;
  @JsonProperty("skip-nonfinite") public Boolean skipNonfinite;
  /** Test hook: "STEP:PARTITION" makes that task's first attempt throw (Spark retries it). */
  @JsonProperty("inject-task-failure") public String injectTaskFailure;

  /**
   * The options that decide the numbers a run produces: resuming with a different value of any of them would
   * not continue the same run, so {@link #requireSameMath} refuses it.
   */
  static final List<String> MATH_OPTIONS = List.of("model-config", "data", "input-format", "seq-len",
      "global-batch", "grad-accum", "micro-batch", "lr", "min-lr", "warmup", "weight-decay", "max-grad-norm", "seed", "dtype",
      "validation-fraction", "eval-windows");

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
        throw new IllegalArgumentException(file + ": unknown field '" + name
            + "', expected command, about, properties_file or options");
      }
    }
    if (root.has("command") && !"train".equals(root.get("command").asText())) {
      throw new IllegalArgumentException(file + ": field 'command' is '" + root.get("command").asText()
          + "', expected 'train'");
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
    positive("eval-windows", evalWindows);
    nonNegative("warmup", warmup);
    nonNegative("checkpoint-every", checkpointEvery);
    nonNegative("eval-every", evalEvery);
    require(globalBatch % gradAccum == 0, "--global-batch " + globalBatch + " must be a multiple of --grad-accum "
        + gradAccum + " (each accumulation round takes global-batch / grad-accum windows)");
    require((globalBatch / gradAccum) % microBatch == 0, "--micro-batch " + microBatch + " must divide the "
        + (globalBatch / gradAccum) + " windows of each accumulation round (--global-batch " + globalBatch
        + " / --grad-accum " + gradAccum + ")");
    require(Double.isFinite(lr) && lr > 0, "--lr: expected a finite number > 0 but found " + lr);
    require(Double.isFinite(minLr) && minLr >= 0 && minLr <= lr,
        "--min-lr: expected a number in [0, --lr = " + lr + "] but found " + minLr);
    require(warmup <= steps, "--warmup " + warmup + " must not exceed --steps " + steps);
    require(Double.isFinite(weightDecay) && weightDecay >= 0,
        "--weight-decay: expected a finite number >= 0 but found " + weightDecay);
    require(maxGradNorm > 0, "--max-grad-norm: expected a number > 0 (Infinity turns clipping off) but found "
        + maxGradNorm);
    require(validationFraction > 0 && validationFraction < 1,
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
