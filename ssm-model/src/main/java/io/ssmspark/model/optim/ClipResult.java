package io.ssmspark.model.optim;

/**
 * What {@link GradientClipping#clipGlobalNorm} found and did.
 *
 * @param norm  the L2 norm of the gradient before clipping (NaN or infinite when the gradient is)
 * @param scale the factor the gradient was multiplied by: min(1, maxNorm / (norm + 1e-6)); exactly 1
 *              when the gradient was left as it was, which is always the case for a non-finite norm
 */
public record ClipResult(double norm, double scale) {
    /** False when the norm is NaN or infinite: the gradient was not touched and must not be applied. */
    public boolean finite() {
        return Double.isFinite(norm);
    }

    /** Whether the gradient was scaled down. */
    public boolean clipped() {
        return scale < 1.0;
    }
}
