package io.ssmspark.model.testing;

import java.util.Random;
import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * fp64 central-difference gradient checks: numeric = (L(θ+h) − L(θ−h)) / 2h with h = 1e-5 (truncation ~h², round-off ~1e-16·|L|/h: both far below the tolerances), compared norm-wise
 * over the checked entries: ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) ≤ tolerance. The analytic
 * gradient must be non-zero on the checked entries, so a check never passes vacuously.
 */
public final class FiniteDifferences {
    public static final double H = 1e-5;

    private FiniteDifferences() {}

    /** Standard-normal entries times scale from a seeded Random, as a DOUBLE c-order array. */
    public static INDArray randn(Random rnd, double scale, long... shape) {
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
    public static double dot(INDArray a, INDArray b) {
        return FiniteDifferenceCheck.dot(a, b);
    }

    /** Checks {@code analytic} against central differences of {@code loss} at the given flat entries. */
    public static double check(
            String name, INDArray param, INDArray analytic, long[] entries, DoubleSupplier loss, double tolerance) {
        return FiniteDifferenceCheck.check(name, param, analytic, entries, loss, H, tolerance);
    }

    /** All entries up to {@code max}, else {@code max} distinct random ones. */
    public static long[] entries(long n, int max, Random rnd) {
        return FiniteDifferenceCheck.entries(n, max, rnd);
    }
}
