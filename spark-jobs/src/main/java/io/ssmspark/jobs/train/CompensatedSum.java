package io.ssmspark.jobs.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A vector sum kept as an unevaluated pair hi + lo of doubles (double-double), so the total carries about 106 bits
 * and the order in which terms are added changes it only below about 1e-30 relative. That is what makes a
 * gradient summed over 1, 2, 3 or 4 partitions, in whatever grouping, round to the same double (and float).
 *
 * <p>Each term goes through Knuth's TwoSum: s = hi + x, bv = s - hi, err = (hi - (s - bv)) + (x - bv) is exactly
 * (hi + x) - s, then hi = s and lo += err. All in batched ND4J element-wise ops into five preallocated native
 * buffers of one double per entry (hi, lo and three scratch); {@link #close} frees them at once instead of waiting
 * for the garbage collector.
 */
public final class CompensatedSum implements AutoCloseable {
    private INDArray hi;
    private final INDArray lo;
    private INDArray s;
    private final INDArray b;
    private final INDArray e;

    public CompensatedSum(long length) {
        hi = Nd4j.zeros(DataType.DOUBLE, length);
        lo = Nd4j.zeros(DataType.DOUBLE, length);
        s = Nd4j.zeros(DataType.DOUBLE, length);
        b = Nd4j.zeros(DataType.DOUBLE, length);
        e = Nd4j.zeros(DataType.DOUBLE, length);
    }

    public long length() {
        return hi.length();
    }

    /** Adds {@code x} (FLOAT or DOUBLE; a FLOAT is widened exactly). */
    public void add(INDArray x) {
        if (x.length() != hi.length()) {
            throw new IllegalArgumentException(
                    "compensated sum: expected a term of " + hi.length() + " entries but found " + x.length());
        }
        INDArray t = x;
        if (x.dataType() != DataType.DOUBLE) {
            e.assign(x);
            t = e;
        }
        Nd4j.exec(new AddOp(hi, t, s)); // s = hi + x
        Nd4j.exec(new SubOp(s, hi, b)); // b = bv = s - hi
        Nd4j.exec(new SubOp(t, b, e)); // e = x - bv (t may be e itself: it is read before it is written)
        Nd4j.exec(new SubOp(s, b, b)); // b = s - bv
        Nd4j.exec(new SubOp(hi, b, hi)); // hi = hi - (s - bv)
        hi.addi(e); // hi = exact (hi + x) - s
        lo.addi(hi);
        INDArray old = hi;
        hi = s;
        s = old;
    }

    /** Adds a packed partial sum: its hi exactly, then its lo. */
    public void add(PackedSum packed) {
        if (packed.length() != hi.length()) {
            throw new IllegalArgumentException("compensated sum: expected a packed sum of " + hi.length()
                    + " entries but found " + packed.length());
        }
        try (INDArray packedHi = Nd4j.createFromArray(packed.hi);
                INDArray packedLo = Nd4j.createFromArray(packed.lo)) {
            add(packedHi);
            e.assign(packedLo);
            lo.addi(e);
        }
    }

    /**
     * This sum as hi + lo with |lo| at most half an ulp of hi (TwoSum of the two halves, so hi is the sum rounded to
     * a double), lo then rounded to a float: 12 bytes per entry that keep about 77 bits of the sum.
     */
    public PackedSum pack() {
        Nd4j.exec(new AddOp(hi, lo, s)); // s = hi + lo
        Nd4j.exec(new SubOp(s, hi, b)); // b = bv = s - hi
        Nd4j.exec(new SubOp(lo, b, e)); // e = lo - bv
        Nd4j.exec(new SubOp(s, b, b)); // b = s - bv
        Nd4j.exec(new SubOp(hi, b, b)); // b = hi - (s - bv)
        e.addi(b); // e = exact (hi + lo) - s
        try (INDArray low = e.castTo(DataType.FLOAT)) {
            return new PackedSum(s.toDoubleVector(), low.toFloatVector());
        }
    }

    /** hi + lo rounded to one double per entry (a new array; the caller closes it). */
    public INDArray total() {
        return hi.add(lo);
    }

    /**
     * hi + lo divided by {@code count} and rounded to {@code type} (a new array; the caller closes it): the mean
     * gradient, computed by this one method on the driver fold and in the sharded reduce's reducers alike, so that
     * the two give the same bits.
     */
    public INDArray mean(long count, DataType type) {
        INDArray total = total().divi(count);
        if (total.dataType() == type) {
            return total;
        }
        try (total) {
            return total.castTo(type);
        }
    }

    /** Frees the native buffers now. */
    @Override
    public void close() {
        for (INDArray a : new INDArray[] {hi, lo, s, b, e}) {
            a.close();
        }
    }
}
