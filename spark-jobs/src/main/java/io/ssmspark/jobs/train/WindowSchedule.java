package io.ssmspark.jobs.train;

/**
 * Which training windows form each step's global batch: a pure function of the step and the window ranks (the
 * ranks themselves come from the seeded permutation of (seed, epoch)), so it never depends on partitioning.
 *
 * <p>With N training windows and a global batch of B, an epoch has floor(N / B) steps (the last N mod B ranks of
 * an epoch are not used). Step s (0-based) belongs to epoch s / stepsPerEpoch and takes ranks
 * [(s mod stepsPerEpoch)·B, +B). With gradient accumulation k, round j of the step takes the j-th B/k of them.
 */
public record WindowSchedule(long trainWindows, int globalBatch, int gradAccum) {

    public WindowSchedule {
        if (globalBatch < 1 || gradAccum < 1 || globalBatch % gradAccum != 0) {
            throw new IllegalArgumentException(
                    "--global-batch " + globalBatch + " must be >= 1 and a multiple of" + " --grad-accum " + gradAccum);
        }
        if (trainWindows < globalBatch) {
            throw new IllegalArgumentException(
                    "--global-batch " + globalBatch + " windows per step but the training" + " split has only "
                            + trainWindows + " windows: use more data, a shorter --seq-len or a smaller batch");
        }
    }

    public long stepsPerEpoch() {
        return trainWindows / globalBatch;
    }

    /** The epoch (0-based) of step {@code step} (0-based). */
    public long epochOf(long step) {
        return step / stepsPerEpoch();
    }

    /** The first rank of round {@code round} of step {@code step}; the round covers [first, first + B/k). */
    public long firstRank(long step, int round) {
        if (round < 0 || round >= gradAccum) {
            throw new IllegalArgumentException("accumulation round " + round + " outside [0, " + gradAccum + ")");
        }
        return (step % stepsPerEpoch()) * globalBatch + (long) round * windowsPerRound();
    }

    public int windowsPerRound() {
        return globalBatch / gradAccum;
    }
}
