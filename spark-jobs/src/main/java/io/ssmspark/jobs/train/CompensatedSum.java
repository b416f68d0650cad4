package io.ssmspark.jobs.train;

import io.ssmspark.model.tensor.Layouts;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A vector sum kept as an unevaluated pair hi + lo of doubles (double-double), so the total carries about 106 bits
 * and the order in which terms are added changes it only below about 1e-30 relative. That is what makes a
 * gradient summed over 1, 2, 3 or 4 partitions, in whatever grouping, round to the same double (and float).
 *
 * <p>Each term goes through Knuth's TwoSum: s = hi + x, bv = s - hi, err = (hi - (s - bv)) + (x - bv) is exactly
 * (hi + x) - s, then hi = s and lo += err. hi and lo are two native buffers of one double per entry; each add is
 * one fused pass over them (Java never contracts these into FMAs, so every step rounds as written), where
 * separate element-wise ops would stream the vectors seven times: the sum is memory-bound, and a training step
 * does it once per micro-batch and once per task on the driver. {@link #close} frees the buffers at once
 * instead of waiting for the garbage collector.
 */
public final class CompensatedSum implements AutoCloseable {
    private final INDArray hiArray;
    private final INDArray loArray;
    private final DoubleBuffer hi;
    private final DoubleBuffer lo;
    private final int length;

    public CompensatedSum(long length) {
        if (length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "compensated sum: " + length + " entries exceed one buffer's " + Integer.MAX_VALUE);
        }
        this.length = (int) length;
        hiArray = Nd4j.zeros(DataType.DOUBLE, length);
        loArray = Nd4j.zeros(DataType.DOUBLE, length);
        hi = hiArray.data().asNioDouble();
        lo = loArray.data().asNioDouble();
    }

    public long length() {
        return length;
    }

    /** Adds {@code x} (FLOAT or DOUBLE; a FLOAT is widened exactly). */
    public void add(INDArray x) {
        if (x.length() != length) {
            throw new IllegalArgumentException(
                    "compensated sum: expected a term of " + length + " entries but found " + x.length());
        }
        if (!Layouts.ownsWholeBuffer(x)) {
            try (INDArray copy = x.dup('c')) {
                add(copy);
            }
            return;
        }
        if (x.dataType() == DataType.DOUBLE) {
            DoubleBuffer t = x.data().asNioDouble();
            for (int i = 0; i < length; i++) {
                twoSum(i, t.get(i));
            }
        } else if (x.dataType() == DataType.FLOAT) {
            FloatBuffer t = x.data().asNioFloat();
            for (int i = 0; i < length; i++) {
                twoSum(i, t.get(i));
            }
        } else {
            throw new IllegalArgumentException("compensated sum: expected FLOAT or DOUBLE but found " + x.dataType());
        }
    }

    /** Adds a packed partial sum: its hi exactly, then its lo. */
    public void add(PackedSum packed) {
        if (packed.length() != length) {
            throw new IllegalArgumentException(
                    "compensated sum: expected a packed sum of " + length + " entries but found " + packed.length());
        }
        double[] packedHi = packed.hi;
        float[] packedLo = packed.lo;
        for (int i = 0; i < length; i++) {
            twoSum(i, packedHi[i]);
            lo.put(i, lo.get(i) + packedLo[i]);
        }
    }

    /** Entry i: hi + x by TwoSum, its rounding error into lo. */
    private void twoSum(int i, double x) {
        double h = hi.get(i);
        double s = h + x;
        double bv = s - h;
        double err = (h - (s - bv)) + (x - bv);
        lo.put(i, lo.get(i) + err);
        hi.put(i, s);
    }

    /**
     * This sum as hi + lo with |lo| at most half an ulp of hi (TwoSum of the two halves, so hi is the sum rounded to
     * a double), lo then rounded to a float: 12 bytes per entry that keep about 77 bits of the sum.
     */
    public PackedSum pack() {
        double[] packedHi = new double[length];
        float[] packedLo = new float[length];
        for (int i = 0; i < length; i++) {
            double h = hi.get(i);
            double l = lo.get(i);
            double s = h + l;
            double bv = s - h;
            packedHi[i] = s;
            packedLo[i] = (float) ((l - bv) + (h - (s - bv)));
        }
        return new PackedSum(packedHi, packedLo);
    }

    /** hi + lo rounded to one double per entry (a new array; the caller closes it). */
    public INDArray total() {
        return hiArray.add(loArray);
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
        hiArray.close();
        loArray.close();
    }
}
