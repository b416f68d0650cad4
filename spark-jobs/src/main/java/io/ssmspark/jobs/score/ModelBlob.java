package io.ssmspark.jobs.score;

import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.LoadedCheckpoint;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.tensor.Scratch;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A model as it is broadcast to executors: config.json text and the flat parameter vector as a plain array. Each
 * JVM builds its {@link HybridLm} once per blob and shares it between its tasks (the model only reads it).
 */
public final class ModelBlob implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Map<String, HybridLm> MODELS = new ConcurrentHashMap<>();

  public String id;
  public String configJson;
  public float[] floats;
  public double[] doubles;

  public ModelBlob() {}

  /** Loads a checkpoint directory in the given compute dtype (FLOAT or DOUBLE). */
  public static ModelBlob load(Path dir, DataType dtype) throws IOException {
    LoadedCheckpoint c = Checkpoint.load(dir, dtype);
    return of(c.config(), c.flatParameters(dtype));
  }

  /** Copies a model's config and flat parameters. */
  public static ModelBlob of(MambaConfig config, INDArray flatParameters) {
    ModelBlob b = new ModelBlob();
    b.id = UUID.randomUUID().toString();
    b.configJson = config.toJson();
    if (flatParameters.dataType() == DataType.DOUBLE) {
      b.doubles = flatParameters.toDoubleVector();
    } else {
      b.floats = flatParameters.castTo(DataType.FLOAT).toFloatVector();
    }
    return b;
  }

  public DataType dataType() {
    return doubles != null ? DataType.DOUBLE : DataType.FLOAT;
  }

  /** This JVM's model for the blob, built on first use. */
  public HybridLm model() {
    return MODELS.computeIfAbsent(id, k -> build());
  }

  /** {@link #model()} from inside a Spark task: first binds the task to its GPU when GPUs are requested. */
  public HybridLm modelForTask() {
    TaskSetup.beforeTask();
    return model();
  }

  /** Drops this JVM's model for the blob. */
  public void release() {
    MODELS.remove(id);
  }

  /** Builds the model outside any ND4J workspace: it outlives the {@link Scratch} scope of a task's first call. */
  private HybridLm build() {
    try {
      MambaConfig config = MambaConfig.fromJson(configJson, "broadcast model " + id);
      return Scratch.outside(() -> new HybridLm(config,
          floats != null ? Nd4j.createFromArray(floats) : Nd4j.createFromArray(doubles)));
    } catch (MalformedConfigException e) {
      throw new UncheckedIOException(e);
    }
  }
}
