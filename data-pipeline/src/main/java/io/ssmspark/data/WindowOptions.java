package io.ssmspark.data;

import java.io.Serializable;

/**
 * How to cut training windows: {@code seqLen} (windows hold seqLen + 1 tokens), {@code stride}
 * between window starts (default seqLen, so consecutive windows share one token and every token is
 * a target once), the validation fraction, the shuffle seed and epoch, and the number of output
 * partitions (0: Spark's default parallelism).
 */
public final class WindowOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int seqLen;
    private final int stride;
    private final double validationFraction;
    private final long seed;
    private final long epoch;
    private final int partitions;

    private WindowOptions(int seqLen, int stride, double validationFraction, long seed, long epoch, int partitions) {
        if (seqLen < 1) {
            throw new IllegalArgumentException("seq_len must be >= 1, found " + seqLen);
        }
        if (stride < 1 || stride > seqLen + 1) {
            throw new IllegalArgumentException(
                    "stride must be in [1, seq_len + 1] = [1, " + (seqLen + 1) + "], found " + stride);
        }
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1), found " + validationFraction);
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, found " + epoch);
        }
        if (partitions < 0) {
            throw new IllegalArgumentException("partitions must be >= 0, found " + partitions);
        }
        this.seqLen = seqLen;
        this.stride = stride;
        this.validationFraction = validationFraction;
        this.seed = seed;
        this.epoch = epoch;
        this.partitions = partitions;
    }

    /** seq_len as given, stride seq_len, no validation split, seed 0, epoch 0. */
    public static WindowOptions of(int seqLen) {
        return new WindowOptions(seqLen, seqLen, 0.0, 0, 0, 0);
    }

    public WindowOptions withStride(int s) {
        return new WindowOptions(seqLen, s, validationFraction, seed, epoch, partitions);
    }

    public WindowOptions withValidationFraction(double f) {
        return new WindowOptions(seqLen, stride, f, seed, epoch, partitions);
    }

    public WindowOptions withSeed(long s) {
        return new WindowOptions(seqLen, stride, validationFraction, s, epoch, partitions);
    }

    public WindowOptions withEpoch(long e) {
        return new WindowOptions(seqLen, stride, validationFraction, seed, e, partitions);
    }

    public WindowOptions withPartitions(int p) {
        return new WindowOptions(seqLen, stride, validationFraction, seed, epoch, p);
    }

    public int seqLen() {
        return seqLen;
    }

    public int windowLength() {
        return seqLen + 1;
    }

    public int stride() {
        return stride;
    }

    public double validationFraction() {
        return validationFraction;
    }

    public long seed() {
        return seed;
    }

    public long epoch() {
        return epoch;
    }

    public int partitions() {
        return partitions;
    }
}
