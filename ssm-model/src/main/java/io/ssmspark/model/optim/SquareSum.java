package io.ssmspark.model.optim;

import java.io.Serializable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The sum of squares of a vector as an unevaluated double-double hi + lo: each square is split exactly into
 * p = fl(x·x) and fma(x, x, -p), each term enters through Knuth's TwoSum, so the pair carries about 106 bits and
 * the sums of the pieces of a vector, added in any grouping ({@link #plus}), round ({@link #value}) to the same
 * double as the sum of the whole, except within about 2^-100 relative of a rounding boundary. That is what lets a
 * gradient's norm be assembled from shards that sit on different executors, with any thread count, and equal the
 * norm of the whole vector on the driver.
 */
public record SquareSum(double hi, double lo) implements Serializable {
    public static final SquareSum ZERO = new SquareSum(0.0, 0.0);

    /** Elements read per copy out of native memory. */
    private static final int CHUNK = 1 << 16;

    /** The sum of squares of a contiguous FLOAT or DOUBLE vector. */
    public static SquareSum of(INDArray vector) {
        return of(vector, "vector");
    }

    /** As {@link #of(INDArray)}; errors call the vector {@code what}. */
    public static SquareSum of(INDArray vector, String what) {
        INDArray v = AdamW.flatView(vector, what);
        long n = v.length();
        double hi = 0.0;
        double lo = 0.0;
        for (long start = 0; start < n; start += CHUNK) {
            INDArray chunk = n <= CHUNK ? v : v.get(NDArrayIndex.interval(start, Math.min(n, start + CHUNK)));
            for (double x : chunk.toDoubleVector()) { // a float widens exactly
                double p = x * x;
                double pErr = Math.fma(x, x, -p); // x·x = p + pErr exactly
                double s = hi + p;
                double bv = s - hi;
                lo += ((hi - (s - bv)) + (p - bv)) + pErr; // (hi + p) - s exactly, plus the square's rest
                hi = s;
            }
        }
        return new SquareSum(hi, lo);
    }

    /** This sum and {@code other} added (TwoSum of the high parts). */
    public SquareSum plus(SquareSum other) {
        double s = hi + other.hi;
        double bv = s - hi;
        double err = (hi - (s - bv)) + (other.hi - bv);
        return new SquareSum(s, lo + other.lo + err);
    }

    /** hi + lo rounded to a double; infinite when the squares overflowed (lo is then NaN). */
    public double value() {
        return Double.isInfinite(hi) ? hi : hi + lo;
    }
}
