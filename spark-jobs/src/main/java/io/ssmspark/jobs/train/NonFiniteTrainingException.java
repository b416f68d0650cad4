package io.ssmspark.jobs.train;

/** A step whose loss or gradient is NaN or infinite stopped the run (no checkpoint of that state is written). */
public final class NonFiniteTrainingException extends IllegalStateException {
    private final long step;

    NonFiniteTrainingException(long step, String message) {
        super(message);
        this.step = step;
    }

    /** The 1-based step whose loss or gradient was not finite. */
    public long step() {
        return step;
    }
}
