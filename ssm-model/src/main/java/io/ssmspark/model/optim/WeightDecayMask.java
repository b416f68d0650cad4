package io.ssmspark.model.optim;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.TensorSpec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The 0/1 vector, laid out like the flat parameter vector, that selects where AdamW applies weight
 * decay: 1 on every tensor whose {@link TensorSpec#weightDecay()} is set (matrices, embedding, head,
 * conv weights), 0 on A_log, D, dt_bias, norm weights and all biases, as in mamba_ssm's grouping.
 */
public final class WeightDecayMask {
    private WeightDecayMask() {}

    /** A new rank-1 mask of length {@code schema.totalParameters()} and type FLOAT or DOUBLE. */
    public static INDArray of(CheckpointSchema schema, DataType type) {
        AdamW.checkFloatingType(type, "weight-decay mask");
        INDArray mask = Nd4j.zeros(type, schema.totalParameters());
        for (TensorSpec t : schema.tensors()) {
            if (t.weightDecay() && t.size() > 0) {
                mask.get(NDArrayIndex.interval(t.offset(), t.offset() + t.size()))
                        .assign(1.0);
            }
        }
        return mask;
    }

    /** Entries [start, end) of {@link #of}, built without the rest: the mask of one shard of the parameters. */
    public static INDArray slice(CheckpointSchema schema, DataType type, long start, long end) {
        AdamW.checkFloatingType(type, "weight-decay mask");
        if (start < 0 || end < start || end > schema.totalParameters()) {
            throw new IllegalArgumentException("weight-decay mask: slice [" + start + ", " + end + ") outside the "
                    + schema.totalParameters() + " parameters");
        }
        INDArray mask = Nd4j.zeros(type, end - start);
        for (TensorSpec t : schema.tensors()) {
            long from = Math.max(start, t.offset());
            long to = Math.min(end, t.offset() + t.size());
            if (t.weightDecay() && from < to) {
                mask.get(NDArrayIndex.interval(from - start, to - start)).assign(1.0);
            }
        }
        return mask;
    }
}
