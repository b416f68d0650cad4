package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * fp64 central-difference gradient checks: numeric = (L(θ+h) − L(θ−h)) / 2h with h = 1e-5 (truncation ~h², round-off ~1e-16·|L|/h: both far below the tolerances), compared norm-wise
 * over the checked entries: ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) ≤ tolerance. The analytic
 * gradient must be non-zero on the checked entries, so a check never passes vacuously.
 */
final class FiniteDifferences {
    static final double H = 1e-5;

    private FiniteDifferences() {
    }

    /** Standard-normal entries times scale from a seeded Random, as a DOUBLE c-order array. */
    static INDArray randn(Random rnd, double scale, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = scale * rnd.nextGaussian();
        }
        return Nd4j.create(v, shape, 'c');
    }

    /** Σ a∘b in double. */
    static double dot(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).mul(b.castTo(DataType.DOUBLE)).sumNumber().doubleValue();
    }

    /**
     * Checks {@code analytic} against central differences of {@code loss} at the given flat (c-order) entries of
     * {@code param}, perturbed in place and restored. Returns the relative error.
     */
    static double check(String name, INDArray param, INDArray analytic, long[] entries, DoubleSupplier loss,
            double tolerance) {
        assertEquals(DataType.DOUBLE, param.dataType(), name + ": gradient checks run in fp64");
        assertTrue(Arrays.equals(param.shape(), analytic.shape()), name + ": gradient shape "
                + Arrays.toString(analytic.shape()) + " vs parameter " + Arrays.toString(param.shape()));
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
        assertTrue(Math.sqrt(a2) > 1e-9, name + ": analytic gradient is zero on the checked entries");
        double rel = Math.sqrt(diff2) / Math.max(Math.sqrt(a2), Math.sqrt(n2));
        assertTrue(rel <= tolerance, name + ": relative gradient error " + rel + " > " + tolerance + " over "
                + entries.length + " entries");
        return rel;
    }

    /** All entries up to {@code max}, else {@code max} distinct random ones. */
    static long[] entries(long n, int max, Random rnd) {
        if (n <= max) {
            long[] all = new long[(int) n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        return rnd.longs(0, n).distinct().limit(max).toArray();
    }
}
