package io.ssmspark.jobs.spark;

import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.LoadedCheckpoint;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.tensor.HostArrays;
import io.ssmspark.model.tensor.Scratch;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model as every job sends it to executors in a broadcast (training steps, validation, scoring, the ML
 * transformer): config.json text and the flat parameter vector as a plain float[] or double[], never an INDArray
 * (Spark closes AutoCloseable broadcast values, which would free ND4J's buffer; DESIGN.md, "Never broadcast an
 * INDArray through Spark"). Executors turn it into a model once per broadcast through {@link ExecutorModels}.
 */
public final class ModelBlob implements Serializable {
    private static final long serialVersionUID = 2L;

    public String configJson;
    public float[] floats;
    public double[] doubles;

    public ModelBlob() {}

    /** Loads a checkpoint directory in the given compute dtype (FLOAT or DOUBLE). */
    public static ModelBlob load(Path dir, DataType dtype) throws IOException {
        LoadedCheckpoint c = Checkpoint.load(dir, dtype);
        return of(c.config(), c.flatParameters(dtype));
    }

    /** Copies a model's config and flat parameters (DOUBLE stays double, any other dtype travels as float). */
    public static ModelBlob of(MambaConfig config, INDArray flatParameters) {
        return of(config.toJson(), flatParameters);
    }

    /** As {@link #of(MambaConfig, INDArray)} with the config already as config.json text. */
    public static ModelBlob of(String configJson, INDArray flatParameters) {
        ModelBlob b = new ModelBlob();
        b.configJson = configJson;
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

    /** Bytes of the parameter array. */
    public long byteSize() {
        return doubles != null ? 8L * doubles.length : 4L * floats.length;
    }

    /** The model config the blob carries. */
    public MambaConfig config() {
        try {
            return MambaConfig.fromJson(configJson, "broadcast model config");
        } catch (MalformedConfigException e) {
            throw new IllegalStateException("the broadcast model config does not parse: " + e.getMessage(), e);
        }
    }

    /**
     * A new model over a copy of the parameters, built outside any ND4J workspace: it outlives the {@link Scratch}
     * scope of the task call that first needs it.
     */
    public HybridLm newModel() {
        MambaConfig config = config();
        return Scratch.outside(
                () -> new HybridLm(config, floats != null ? HostArrays.of(floats) : HostArrays.of(doubles)));
    }
}
