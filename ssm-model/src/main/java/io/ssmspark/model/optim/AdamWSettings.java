package io.ssmspark.model.optim;

/**
 * The fixed hyper-parameters of {@link AdamW}; the learning rate is not among them because it changes
 * every step (see {@link LearningRateSchedule}).
 *
 * @param beta1       decay of the first moment, in [0, 1); 0.9 by default
 * @param beta2       decay of the second moment, in [0, 1); 0.95 by default, as is common for LMs
 * @param eps         added to the bias-corrected root second moment, > 0; 1e-8 by default
 * @param weightDecay decoupled weight decay coefficient, >= 0; 0.1 by default
 */
public record AdamWSettings(double beta1, double beta2, double eps, double weightDecay)
        implements java.io.Serializable {
    public static final double DEFAULT_BETA1 = 0.9;
    public static final double DEFAULT_BETA2 = 0.95;
    public static final double DEFAULT_EPS = 1e-8;
    public static final double DEFAULT_WEIGHT_DECAY = 0.1;

    public AdamWSettings {
        checkBeta("beta1", beta1);
        checkBeta("beta2", beta2);
        if (!(eps > 0) || !Double.isFinite(eps)) {
            throw new IllegalArgumentException("AdamW eps must be finite and > 0, found " + eps);
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("AdamW weightDecay must be finite and >= 0, found " + weightDecay);
        }
    }

    /** beta1 0.9, beta2 0.95, eps 1e-8, weight decay 0.1. */
    public static AdamWSettings defaults() {
        return new AdamWSettings(DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS, DEFAULT_WEIGHT_DECAY);
    }

    public AdamWSettings withBetas(double newBeta1, double newBeta2) {
        return new AdamWSettings(newBeta1, newBeta2, eps, weightDecay);
    }

    public AdamWSettings withEps(double newEps) {
        return new AdamWSettings(beta1, beta2, newEps, weightDecay);
    }

    public AdamWSettings withWeightDecay(double newWeightDecay) {
        return new AdamWSettings(beta1, beta2, eps, newWeightDecay);
    }

    private static void checkBeta(String name, double beta) {
        if (!(beta >= 0 && beta < 1)) {
            throw new IllegalArgumentException("AdamW " + name + " must be in [0, 1), found " + beta);
        }
    }
}
