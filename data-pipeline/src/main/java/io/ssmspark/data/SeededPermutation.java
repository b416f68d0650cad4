package io.ssmspark.data;

import java.io.Serializable;

/**
 * A seeded pseudo-random permutation of {@code [0, n)} that needs no table: a 4-round balanced
 * Feistel network on the smallest even number of bits covering n, with cycle walking (apply again
 * until the value falls below n). Each Feistel round is a bijection, so the whole map is one.
 */
public final class SeededPermutation implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int ROUNDS = 4;

    private final long n;
    private final long seed;
    private final int halfBits;
    private final long halfMask;

    public SeededPermutation(long n, long seed) {
        if (n < 0) {
            throw new IllegalArgumentException("permutation size must be >= 0, found " + n);
        }
        this.n = n;
        this.seed = seed;
        int bits = Math.max(2, 64 - Long.numberOfLeadingZeros(Math.max(1, n - 1)));
        this.halfBits = (bits + 1) / 2;
        this.halfMask = (1L << halfBits) - 1;
    }

    public long size() {
        return n;
    }

    /** The image of {@code x}, for 0 <= x < n. */
    public long apply(long x) {
        if (x < 0 || x >= n) {
            throw new IndexOutOfBoundsException("value " + x + " outside [0, " + n + ")");
        }
        long y = x;
        do {
            y = feistel(y);
        } while (y >= n);
        return y;
    }

    private long feistel(long x) {
        long left = x >>> halfBits;
        long right = x & halfMask;
        for (int r = 0; r < ROUNDS; r++) {
            long f = Hashing.mix64(seed + r * 0x9E3779B97F4A7C15L + right) & halfMask;
            long newRight = left ^ f;
            left = right;
            right = newRight;
        }
        return left << halfBits | right;
    }
}
