package io.ssmspark.data.synthetic;

import io.ssmspark.data.Hashing;

/**
 * A SplitMix64 generator (the same numbers on every JVM) that also adds up the negative log
 * probability, in nats, of every draw it makes. When a generator's draws can be read back from the
 * document it writes, that sum is the exact {@code -log p(document)}, which is the total loss of an
 * ideal model over the document (chain rule).
 */
public final class TrackedRandom {
    private long state;
    private double negLogProb;

    public TrackedRandom(long seed) {
        this.state = seed;
    }

    /** The generator for document {@code index} of a corpus with {@code seed}. */
    public static TrackedRandom forDocument(long seed, long index) {
        return new TrackedRandom(Hashing.mix64(seed * 0x9E3779B97F4A7C15L + Hashing.mix64(index + 1)));
    }

    public long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        return Hashing.mix64(state);
    }

    /** A double uniform in [0, 1); not tracked (for draws the caller accounts for itself). */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, n), unbiased; adds log n. */
    public int uniform(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("bound must be positive, found " + n);
        }
        negLogProb += Math.log(n);
        return untrackedUniform(n);
    }

    /** Uniform in [0, n) without tracking. */
    public int untrackedUniform(int n) {
        long limit = Long.MAX_VALUE - Long.MAX_VALUE % n; // rejection keeps it unbiased
        long r;
        do {
            r = nextLong() >>> 1;
        } while (r >= limit);
        return (int) (r % n);
    }

    /** Index drawn with the given probabilities (summing to 1); adds -log p[i]. */
    public int weighted(double[] p) {
        double u = nextDouble();
        double acc = 0;
        for (int i = 0; i < p.length; i++) {
            acc += p[i];
            if (u < acc || i == p.length - 1) {
                negLogProb -= Math.log(p[i]);
                return i;
            }
        }
        throw new IllegalStateException("empty distribution");
    }

    /** Adds {@code nats} for a draw accounted for outside this class. */
    public void addNegLogProb(double nats) {
        negLogProb += nats;
    }

    public double negLogProb() {
        return negLogProb;
    }
}
