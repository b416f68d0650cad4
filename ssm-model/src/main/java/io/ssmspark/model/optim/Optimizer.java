package io.ssmspark.model.optim;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One driver-side training step: clip the averaged gradient to a global L2 norm, then apply AdamW
 * with the schedule's rate for the current step. A gradient whose norm is NaN or infinite is refused
 * (reported in the {@link StepReport}, nothing changed), never applied.
 */
public final class Optimizer {
    private final AdamW adamw;
    private final LearningRateSchedule schedule;
    private final double maxGradNorm;

    /**
     * @param maxGradNorm clipping threshold, > 0; {@link Double#POSITIVE_INFINITY} turns clipping off
     *                    (the norm is still computed and checked)
     */
    public Optimizer(AdamW adamw, LearningRateSchedule schedule, double maxGradNorm) {
        if (adamw == null || schedule == null) {
            throw new IllegalArgumentException("Optimizer needs an AdamW and a LearningRateSchedule, found "
                    + (adamw == null ? "no AdamW" : "no schedule"));
        }
        if (!(maxGradNorm > 0)) {
            throw new IllegalArgumentException("maxGradNorm must be > 0, found " + maxGradNorm);
        }
        this.adamw = adamw;
        this.schedule = schedule;
        this.maxGradNorm = maxGradNorm;
    }

    public AdamW adamw() {
        return adamw;
    }

    public LearningRateSchedule schedule() {
        return schedule;
    }

    /** Clips {@code gradient} in place and, when its norm is finite, updates {@code parameters} in place. */
    public StepReport step(INDArray parameters, INDArray gradient) {
        adamw.checkInputs(parameters, gradient);
        ClipResult clip = GradientClipping.clipGlobalNorm(gradient, maxGradNorm);
        if (!clip.finite()) {
            return new StepReport(adamw.step(), Double.NaN, clip, false);
        }
        double lr = schedule.lr(adamw.step());
        adamw.step(parameters, gradient, lr);
        return new StepReport(adamw.step(), lr, clip, true);
    }
}
