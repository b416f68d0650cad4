package io.ssmspark.model.mixer;

import java.util.Arrays;
import java.util.Random;

/**
 * How a fresh model fills one parameter tensor, drawing from the model's one seeded {@link Random} (ModelInit draws
 * the tensors in schema order, so the same seed gives bitwise the same model).
 */
@FunctionalInterface
public interface ParameterInit {

    /**
     * The tensor's {@code n} values in c order; {@code residualScale} is 1/√(n_residuals · n_layer), mamba_ssm's
     * rescale_prenorm_residual factor for the projections that write into the residual stream.
     */
    double[] values(int n, Random rnd, double residualScale);

    /** nn.Linear's default weight (kaiming_uniform with a = √5): U(±1/√fan_in). */
    static ParameterInit linear(long fanIn) {
        return uniform(1.0 / Math.sqrt(fanIn));
    }

    /** A Linear into the residual stream (out_proj, fc2): U(±1/√fan_in) · residualScale. */
    static ParameterInit residualLinear(long fanIn) {
        double bound = 1.0 / Math.sqrt(fanIn);
        return (n, rnd, residualScale) -> {
            double[] v = draw(n, rnd, bound);
            for (int i = 0; i < n; i++) {
                v[i] *= residualScale;
            }
            return v;
        };
    }

    /** U(±bound). */
    static ParameterInit uniform(double bound) {
        return (n, rnd, residualScale) -> draw(n, rnd, bound);
    }

    /** Every value {@code value} (no draw). */
    static ParameterInit constant(double value) {
        return (n, rnd, residualScale) -> {
            double[] v = new double[n];
            Arrays.fill(v, value);
            return v;
        };
    }

    /** softplus⁻¹(dt) = dt + ln(−expm1(−dt)) of dt = max(exp(U(ln dt_min, ln dt_max)), floor) (mamba_ssm's dt init). */
    static ParameterInit inverseSoftplusDt(double dtMin, double dtMax, double floor) {
        double logMin = Math.log(dtMin);
        double logMax = Math.log(dtMax);
        return (n, rnd, residualScale) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                double dt = Math.max(Math.exp(rnd.nextDouble() * (logMax - logMin) + logMin), floor);
                v[i] = dt + Math.log(-Math.expm1(-dt));
            }
            return v;
        };
    }

    private static double[] draw(int n, Random rnd, double bound) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = (2 * rnd.nextDouble() - 1) * bound;
        }
        return v;
    }
}
