package io.ssmspark.jobs.baseline;

/**
 * Which training windows each parameter-averaging round uses. A round gives every one of the
 * {@code workers} partitions {@code averagingFrequency} minibatches of {@code batch} windows, so it takes
 * {@code workers · batch · averagingFrequency} windows: round k takes the windows of rank
 * {@code [k·size, (k+1)·size)} (ranks are the epoch's shuffled order, and rank r lies in partition
 * r mod workers, so each partition gets an equal share). Rounds cycle once the windows run out; the
 * {@code windows mod size} windows after the last full round are not used. With fewer windows than one
 * round, every round uses all of them.
 */
public final class TrainingRounds {
    private final long windows;
    private final long size;
    private final long rounds;

    public TrainingRounds(long windows, int workers, int batch, int averagingFrequency) {
        if (windows < 1) {
            throw new IllegalArgumentException("training windows: expected at least 1 but found " + windows);
        }
        if (workers < 1 || batch < 1 || averagingFrequency < 1) {
            throw new IllegalArgumentException("expected workers, batch and averaging frequency >= 1 but found "
                    + workers + ", " + batch + ", " + averagingFrequency);
        }
        this.windows = windows;
        this.size = Math.min(windows, (long) workers * batch * averagingFrequency);
        this.rounds = windows / size;
    }

    /** Windows per round. */
    public long size() {
        return size;
    }

    /** Distinct rounds before they repeat. */
    public long distinctRounds() {
        return rounds;
    }

    /** First rank of round {@code step} (0 based). */
    public long firstRank(long step) {
        return (step % rounds) * size;
    }

    /** One past the last rank of round {@code step}. */
    public long endRank(long step) {
        return firstRank(step) + size;
    }

    public long windows() {
        return windows;
    }
}
