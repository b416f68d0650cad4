package io.ssmspark.model.lm;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.TensorSpec;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A fresh model's flat parameter vector, initialised as mamba_ssm (MambaLMHeadModel + _init_weights) and PyTorch's
 * defaults do, from one seeded java.util.Random drawn in schema order (same seed, config and dtype → bitwise the
 * same vector):
 * <ul>
 * <li>embedding ~ N(0, 0.02²);</li>
 * <li>every nn.Linear weight ~ U(±1/√fan_in) (kaiming_uniform with a = √5), every Linear bias = 0;</li>
 * <li>conv1d weight ~ U(±1/√K) (or U(±conv_init) when set) and bias ~ U(±1/√K) (depthwise: fan_in = K);</li>
 * <li>dt_bias = softplus⁻¹(dt), dt = max(exp(u·(ln dt_max − ln dt_min) + ln dt_min), dt_init_floor), u ~ U(0,1),
 * with softplus⁻¹(dt) = dt + ln(−expm1(−dt));</li>
 * <li>A_log = ln(U(A_init_range)); D = 1; norm weights 1, LayerNorm biases 0;</li>
 * <li>out_proj.weight and fc2.weight (rescale_prenorm_residual): U(±1/√fan_in) / √(n_residuals · n_layer),
 * n_residuals = 1 without MLP, 2 with;</li>
 * <li>an untied lm_head like a Linear.</li>
 * </ul>
 */
public final class ModelInit {

    /** mamba_ssm's initializer_range for the embedding. */
    public static final double EMBEDDING_STD = 0.02;

    private ModelInit() {
    }

    /** A new flat parameter vector of {@code dtype} (FLOAT or DOUBLE). */
    public static INDArray initialize(MambaConfig config, long seed, DataType dtype) {
        if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) {
            throw new IllegalArgumentException("parameter dtype: expected FLOAT or DOUBLE but found " + dtype);
        }
        CheckpointSchema schema = CheckpointSchema.of(config);
        INDArray flat = Nd4j.create(dtype, schema.totalParameters());
        Random rnd = new Random(seed);
        double residualScale = 1.0 / Math.sqrt((config.hasMlp() ? 2.0 : 1.0) * config.nLayer());
        for (TensorSpec t : schema.tensors()) {
            double[] values = values(t, config, rnd, residualScale);
            flat.get(NDArrayIndex.interval(t.offset(), t.offset() + t.size()))
                    .assign(Nd4j.createFromArray(values).castTo(dtype));
        }
        return flat;
    }

    /** A new model initialised as {@link #initialize}. */
    public static HybridLm newModel(MambaConfig config, long seed, DataType dtype) {
        return new HybridLm(config, initialize(config, seed, dtype));
    }

    private static double[] values(TensorSpec t, MambaConfig c, Random rnd, double residualScale) {
        String name = t.name();
        int n = Math.toIntExact(t.size());
        long[] shape = t.shape();
        SsmConfig ssm = c.ssm();
        if (name.equals(CheckpointSchema.EMBEDDING)) {
            return gaussian(n, EMBEDDING_STD, rnd);
        }
        if (name.endsWith("out_proj.weight") || name.endsWith("mlp.fc2.weight")) {
            double[] v = uniform(n, 1.0 / Math.sqrt(shape[1]), rnd);
            for (int i = 0; i < n; i++) {
                v[i] *= residualScale;
            }
            return v;
        }
        if (name.endsWith("in_proj.weight") || name.endsWith("mlp.fc1.weight") || name.equals(CheckpointSchema.LM_HEAD)) {
            return uniform(n, 1.0 / Math.sqrt(shape[1]), rnd);
        }
        if (name.endsWith("conv1d.weight")) {
            double bound = ssm.convInit() != null ? ssm.convInit() : 1.0 / Math.sqrt(ssm.dConv());
            return uniform(n, bound, rnd);
        }
        if (name.endsWith("conv1d.bias")) {
            return uniform(n, 1.0 / Math.sqrt(ssm.dConv()), rnd);
        }
        if (name.endsWith("mixer.dt_bias")) {
            return dtBias(n, ssm, rnd);
        }
        if (name.endsWith("mixer.A_log")) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = Math.log(ssm.aInitMin() + (ssm.aInitMax() - ssm.aInitMin()) * rnd.nextDouble());
            }
            return v;
        }
        if (name.endsWith("mixer.D") || name.endsWith(".weight")) { // D and every norm weight
            return constant(n, 1.0);
        }
        if (name.endsWith(".bias")) { // Linear biases (zeroed by _init_weights) and LayerNorm biases
            return constant(n, 0.0);
        }
        throw new IllegalStateException("no initialisation rule for tensor '" + name + "'");
    }

    /** softplus⁻¹ of log-uniform dt in [dt_min, dt_max], floored at dt_init_floor (mamba_ssm's Mamba2). */
    private static double[] dtBias(int n, SsmConfig ssm, Random rnd) {
        double logMin = Math.log(ssm.dtMin());
        double logMax = Math.log(ssm.dtMax());
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            double dt = Math.max(Math.exp(rnd.nextDouble() * (logMax - logMin) + logMin), ssm.dtInitFloor());
            v[i] = dt + Math.log(-Math.expm1(-dt));
        }
        return v;
    }

    private static double[] uniform(int n, double bound, Random rnd) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = (2 * rnd.nextDouble() - 1) * bound;
        }
        return v;
    }

    private static double[] gaussian(int n, double std, Random rnd) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = std * rnd.nextGaussian();
        }
        return v;
    }

    private static double[] constant(int n, double value) {
        double[] v = new double[n];
        java.util.Arrays.fill(v, value);
        return v;
    }
}
