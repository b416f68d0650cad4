package io.ssmspark.model.checkpoint;

import io.ssmspark.model.config.MambaConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A checkpoint read from disk: its config, the config's schema, and the parameter tensors in schema
 * order (a tied lm_head.weight is not among them: it is the embedding).
 */
public record LoadedCheckpoint(MambaConfig config, CheckpointSchema schema, Map<String, INDArray> tensors) {
    public LoadedCheckpoint {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /** One tensor by its mamba_ssm name. */
    public INDArray tensor(String name) {
        INDArray t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("checkpoint has no tensor named '" + name + "'");
        }
        return t;
    }

    /** All parameters copied into one new flat vector of {@code type}, laid out as {@link CheckpointSchema}. */
    public INDArray flatParameters(DataType type) {
        return schema.flatten(tensors, type);
    }
}
