package io.ssmspark.model.optim;

/**
 * Linear warmup from 0, then cosine decay to {@code minLr}, then constant {@code minLr}; a pure
 * function of the step. {@code lr(s)} is the rate of the update that takes the optimizer from s
 * completed steps to s + 1 (so the very first update, s = 0, uses lr 0 when there is a warmup, as
 * in Hugging Face's {@code get_cosine_schedule_with_warmup}). With W = warmupSteps, T = totalSteps:
 *
 * <pre>
 *   s &lt; W:            lr(s) = maxLr * s / W
 *   W &lt;= s &lt; T:       lr(s) = minLr + (maxLr - minLr) * 0.5 * (1 + cos(pi * (s - W) / (T - W)))
 *   s &gt;= T:           lr(s) = minLr
 * </pre>
 *
 * Edge cases follow from the order of the cases: W = 0 starts the cosine at s = 0 (lr(0) = maxLr);
 * T = W has no cosine phase, so lr jumps from maxLr * (W-1)/W to minLr at s = W; W = T = 0 is
 * constant minLr. {@link StrictMath#cos} keeps the value bitwise identical on every JVM.
 *
 * @param maxLr       peak rate, reached at s = W; finite and >= 0
 * @param minLr       final rate, in [0, maxLr]
 * @param warmupSteps W, >= 0
 * @param totalSteps  T, >= W
 */
public record LearningRateSchedule(double maxLr, double minLr, long warmupSteps, long totalSteps) {
    public LearningRateSchedule {
        if (!(maxLr >= 0) || !Double.isFinite(maxLr)) {
            throw new IllegalArgumentException("learning-rate schedule maxLr must be finite and >= 0, found " + maxLr);
        }
        if (!(minLr >= 0 && minLr <= maxLr)) {
            throw new IllegalArgumentException(
                    "learning-rate schedule minLr must be in [0, maxLr = " + maxLr + "], found " + minLr);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("learning-rate schedule warmupSteps must be >= 0, found " + warmupSteps);
        }
        if (totalSteps < warmupSteps) {
            throw new IllegalArgumentException("learning-rate schedule totalSteps must be >= warmupSteps = "
                    + warmupSteps + ", found " + totalSteps);
        }
    }

    /** A constant rate (no warmup, no decay). */
    public static LearningRateSchedule constant(double lr) {
        return new LearningRateSchedule(lr, lr, 0, 0);
    }

    /** The rate for the update after {@code step} completed steps (step >= 0). */
    public double lr(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("learning-rate schedule step must be >= 0, found " + step);
        }
        if (step >= totalSteps) {
            return minLr;
        }
        if (step < warmupSteps) {
            return maxLr * (double) step / (double) warmupSteps;
        }
        double progress = (double) (step - warmupSteps) / (double) (totalSteps - warmupSteps);
        return minLr + (maxLr - minLr) * 0.5 * (1.0 + StrictMath.cos(Math.PI * progress));
    }
}
