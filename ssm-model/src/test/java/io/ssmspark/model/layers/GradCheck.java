package io.ssmspark.model.layers;

import io.ssmspark.model.testing.FiniteDifferenceCheck;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;

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

    private GradCheck() {}

    /** Σ out ∘ r, in double. */
    static double dot(INDArray out, INDArray r) {
        return FiniteDifferenceCheck.dot(out, r);
    }

    /**
     * Checks {@code analytic} (the backward's gradient of L with respect to {@code param}) against central
     * differences of {@code loss}, which must recompute L from the current contents of {@code param}. Returns the
     * relative error.
     */
    static double check(String name, INDArray param, INDArray analytic, DoubleSupplier loss, long seed) {
        long n = param.length();
        long[] entries = n <= ALL_ENTRIES_UP_TO
                ? FiniteDifferenceCheck.entries(n, ALL_ENTRIES_UP_TO, new Random(seed))
                : new Random(seed).longs(SUBSET, 0, n).toArray();
        return FiniteDifferenceCheck.check(name, param, analytic, entries, loss, H, TOLERANCE);
    }
}
