package io.ssmspark.model.optim;

/**
 * Plain-Java fp64 AdamW and global-norm clipping, one element at a time, written straight from the
 * equations in {@link AdamW}'s Javadoc and torch.nn.utils.clip_grad_norm_. The tests hold the ND4J
 * implementation against it.
 */
final class ReferenceAdamW {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final double[] mask;
    private final double[] m;
    private final double[] v;
    private long t;

    ReferenceAdamW(AdamWSettings s, double[] mask) {
        this.beta1 = s.beta1();
        this.beta2 = s.beta2();
        this.eps = s.eps();
        this.weightDecay = s.weightDecay();
        this.mask = mask.clone();
        this.m = new double[mask.length];
        this.v = new double[mask.length];
    }

    void step(double[] p, double[] g, double lr) {
        t++;
        double bc1 = 1 - StrictMath.pow(beta1, t);
        double bc2 = 1 - StrictMath.pow(beta2, t);
        for (int i = 0; i < p.length; i++) {
            p[i] = p[i] * (1 - lr * weightDecay * mask[i]);
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * (g[i] * g[i]);
            double denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
            p[i] = p[i] - (lr / bc1) * (m[i] / denom);
        }
    }

    /** Scales g in place like clip_grad_norm_ and returns the norm before clipping. */
    static double clip(double[] g, double maxNorm) {
        double sum = 0;
        for (double x : g) {
            sum += x * x;
        }
        double norm = Math.sqrt(sum);
        double scale = Math.min(1.0, maxNorm / (norm + 1e-6));
        for (int i = 0; i < g.length; i++) {
            g[i] *= scale;
        }
        return norm;
    }
}
