package io.ssmspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * fp64 finite-difference gradient checker. The scalar loss is L = Σ out ∘ R for a fixed random R, so the layer's
 * backward gets dOut = R. Each checked entry θ is perturbed in place and restored:
 *
 * <pre>
 *   numeric = (L(θ + h) − L(θ − h)) / 2h,   h = 1e-6   (central differences)
 * </pre>
 *
 * Metric: the norm-wise relative error over the checked entries, ‖analytic − numeric‖₂ / max(‖analytic‖₂,
 * ‖numeric‖₂), must be ≤ 1e-6. All entries are checked when a tensor has at most {@value #ALL_ENTRIES_UP_TO}
 * of them, a random subset of {@value #SUBSET} otherwise. The analytic gradient over the checked entries must
 * not be zero, so a check cannot pass vacuously.
 */
final class GradCheck {

    static final double H = 1e-6;
    static final double TOLERANCE = 1e-6;
    static final int ALL_ENTRIES_UP_TO = 36;
    static final int SUBSET = 30;

    private GradCheck() {
    }

    /** Σ out ∘ r, in double. */
    static double dot(INDArray out, INDArray r) {
        return out.castTo(DataType.DOUBLE).mul(r.castTo(DataType.DOUBLE)).sumNumber().doubleValue();
    }

    /**
     * Checks {@code analytic} (the backward's gradient of L with respect to {@code param}) against central
     * differences of {@code loss}, which must recompute L from the current contents of {@code param}. Returns the
     * relative error.
     */
    static double check(String name, INDArray param, INDArray analytic, DoubleSupplier loss, long seed) {
        assertEquals(DataType.DOUBLE, param.dataType(), name + ": gradient checks run in fp64");
        assertTrue(Arrays.equals(param.shape(), analytic.shape()),
                name + ": gradient shape " + Arrays.toString(analytic.shape()) + " vs parameter "
                        + Arrays.toString(param.shape()));
        long n = param.length();
        long[] entries = entries(n, new Random(seed));
        double diff2 = 0;
        double a2 = 0;
        double n2 = 0;
        for (long flat : entries) {
            long[] at = Shape.ind2subC(param.shape(), flat);
            double original = param.getDouble(at);
            param.putScalar(at, original + H);
            double plus = loss.getAsDouble();
            param.putScalar(at, original - H);
            double minus = loss.getAsDouble();
            param.putScalar(at, original);
            double numeric = (plus - minus) / (2 * H);
            double a = analytic.getDouble(at);
            diff2 += (a - numeric) * (a - numeric);
            a2 += a * a;
            n2 += numeric * numeric;
        }
        assertTrue(Math.sqrt(a2) > 1e-6, name + ": analytic gradient is zero on the checked entries");
        double rel = Math.sqrt(diff2) / Math.max(Math.sqrt(a2), Math.sqrt(n2));
        assertTrue(rel <= TOLERANCE, name + ": relative gradient error " + rel + " > " + TOLERANCE + " over "
                + entries.length + " entries");
        return rel;
    }

    private static long[] entries(long n, Random rnd) {
        if (n <= ALL_ENTRIES_UP_TO) {
            long[] all = new long[(int) n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        return rnd.longs(SUBSET, 0, n).toArray();
    }
}
