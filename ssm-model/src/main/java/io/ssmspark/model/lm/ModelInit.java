package io.ssmspark.model.lm;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.TensorSpec;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.mixer.MixerParameter;
import io.ssmspark.model.mixer.Mixers;
import io.ssmspark.model.mixer.ParameterInit;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A fresh model's flat parameter vector, initialised as mamba_ssm (MambaLMHeadModel + _init_weights) and PyTorch's
 * defaults do, from one seeded java.util.Random drawn in schema order (same seed, config and dtype → bitwise the
 * same vector). Each mixer's tensors are filled by the {@link ParameterInit} its {@link Mixers} family declares; the
 * rest of the model:
 * <ul>
 * <li>embedding ~ N(0, 0.02²);</li>
 * <li>fc1.weight and an untied lm_head ~ U(±1/√fan_in) (nn.Linear's kaiming_uniform with a = √5);</li>
 * <li>fc2.weight (rescale_prenorm_residual): U(±1/√fan_in) / √(n_residuals · n_layer), n_residuals = 1 without MLP,
 * 2 with (the same factor reaches the mixers' residual projections);</li>
 * <li>norm weights 1, LayerNorm biases 0.</li>
 * </ul>
 */
public final class ModelInit {

    /** mamba_ssm's initializer_range for the embedding. */
    public static final double EMBEDDING_STD = 0.02;

    private ModelInit() {}

    /** A new flat parameter vector of {@code dtype} (FLOAT or DOUBLE). */
    public static INDArray initialize(MambaConfig config, long seed, DataType dtype) {
        if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) {
            throw new IllegalArgumentException("parameter dtype: expected FLOAT or DOUBLE but found " + dtype);
        }
        CheckpointSchema schema = CheckpointSchema.of(config);
        Map<String, ParameterInit> mixerInits = new HashMap<>();
        for (int i = 0; i < config.nLayer(); i++) {
            String prefix = "backbone.layers." + i + ".mixer.";
            for (MixerParameter m : Mixers.family(config, i).parameters(config)) {
                mixerInits.put(prefix + m.name(), m.init());
            }
        }
        INDArray flat = Nd4j.create(dtype, schema.totalParameters());
        Random rnd = new Random(seed);
        double residualScale = 1.0 / Math.sqrt((config.hasMlp() ? 2.0 : 1.0) * config.nLayer());
        for (TensorSpec t : schema.tensors()) {
            int n = Math.toIntExact(t.size());
            ParameterInit init = mixerInits.containsKey(t.name()) ? mixerInits.get(t.name()) : blockInit(t);
            flat.get(NDArrayIndex.interval(t.offset(), t.offset() + t.size()))
                    .assign(Nd4j.createFromArray(init.values(n, rnd, residualScale))
                            .castTo(dtype));
        }
        return flat;
    }

    /** A new model initialised as {@link #initialize}. */
    public static HybridLm newModel(MambaConfig config, long seed, DataType dtype) {
        return new HybridLm(config, initialize(config, seed, dtype));
    }

    /** The initialisation of a tensor outside the mixers: embedding, norms, MLP, untied head. */
    private static ParameterInit blockInit(TensorSpec t) {
        String name = t.name();
        if (name.equals(CheckpointSchema.EMBEDDING)) {
            return (n, rnd, scale) -> gaussian(n, EMBEDDING_STD, rnd);
        }
        if (name.endsWith("mlp.fc2.weight")) {
            return ParameterInit.residualLinear(t.shape()[1]);
        }
        if (name.endsWith("mlp.fc1.weight") || name.equals(CheckpointSchema.LM_HEAD)) {
            return ParameterInit.linear(t.shape()[1]);
        }
        if (name.endsWith(".weight")) { // every norm weight
            return ParameterInit.constant(1.0);
        }
        if (name.endsWith(".bias")) { // LayerNorm biases
            return ParameterInit.constant(0.0);
        }
        throw new IllegalStateException("no initialisation rule for tensor '" + name + "'");
    }

    private static double[] gaussian(int n, double std, Random rnd) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = std * rnd.nextGaussian();
        }
        return v;
    }
}
