package io.ssmspark.model.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * The one fp64 central-difference gradient check of the model's tests: at each checked entry θ of a
 * parameter (perturbed in place and restored), numeric = (L(θ + h) − L(θ − h)) / 2h. Analytic and
 * numeric gradients are compared norm-wise over the checked entries,
 * ‖analytic − numeric‖₂ / max(‖analytic‖₂, ‖numeric‖₂) ≤ tolerance, and the analytic gradient must
 * be non-zero there, so a check never passes vacuously.
 */
public final class FiniteDifferenceCheck {
    private FiniteDifferenceCheck() {}

    /**
     * Checks {@code analytic} (dL/d{@code param}) at the given flat c-order {@code entries};
     * {@code loss} must recompute L from the current contents of {@code param}. Returns the error.
     */
    public static double check(
            String name,
            INDArray param,
            INDArray analytic,
            long[] entries,
            DoubleSupplier loss,
            double h,
            double tolerance) {
        assertEquals(DataType.DOUBLE, param.dataType(), name + ": gradient checks run in fp64");
        assertTrue(
                Arrays.equals(param.shape(), analytic.shape()),
                name + ": gradient shape " + Arrays.toString(analytic.shape()) + " vs parameter "
                        + Arrays.toString(param.shape()));
        double diff2 = 0, a2 = 0, n2 = 0;
        for (long flat : entries) {
            long[] at = Shape.ind2subC(param.shape(), flat);
            double original = param.getDouble(at);
            param.putScalar(at, original + h);
            double plus = loss.getAsDouble();
            param.putScalar(at, original - h);
            double minus = loss.getAsDouble();
            param.putScalar(at, original);
            double numeric = (plus - minus) / (2 * h);
            double a = analytic.getDouble(at);
            diff2 += (a - numeric) * (a - numeric);
            a2 += a * a;
            n2 += numeric * numeric;
        }
        assertTrue(Math.sqrt(a2) > 1e-9, name + ": analytic gradient is zero on the checked entries");
        double rel = Math.sqrt(diff2) / Math.max(Math.sqrt(a2), Math.sqrt(n2));
        assertTrue(
                rel <= tolerance,
                name + ": relative gradient error " + rel + " > " + tolerance + " over " + entries.length + " entries");
        return rel;
    }

    /** All entries when there are at most {@code max}, else {@code max} distinct random ones. */
    public static long[] entries(long n, int max, Random rnd) {
        if (n <= max) {
            long[] all = new long[(int) n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        return rnd.longs(0, n).distinct().limit(max).toArray();
    }

    /** Σ a∘b in double. */
    public static double dot(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE)
                .mul(b.castTo(DataType.DOUBLE))
                .sumNumber()
                .doubleValue();
    }
}
