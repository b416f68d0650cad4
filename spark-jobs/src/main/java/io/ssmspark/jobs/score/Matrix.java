package io.ssmspark.jobs.score;

import io.ssmspark.model.tensor.HostArrays;
import java.io.Serializable;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A row-major rows × cols block of FLOAT or DOUBLE values held in a plain Java array: how activations, halo rows
 * and state summaries travel through Spark (never an INDArray, whose native buffer Spark may close; DESIGN.md,
 * "Performance principles").
 */
public final class Matrix implements Serializable {
    private static final long serialVersionUID = 1L;

    public int rows;
    public int cols;
    /** Exactly one of floats / doubles is set. */
    public float[] floats;

    public double[] doubles;

    public Matrix() {}

    /** Copies {@code a} (any shape holding rows·cols values, read in C order) as a rows × cols block. */
    public static Matrix of(INDArray a, int rows, int cols) {
        if (a.length() != (long) rows * cols) {
            throw new IllegalArgumentException("matrix of " + rows + " x " + cols + ": expected " + (long) rows * cols
                    + " values but the array has " + a.length());
        }
        if (a.dataType() != DataType.DOUBLE && a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("matrix: expected dtype FLOAT or DOUBLE but found " + a.dataType());
        }
        Matrix m = new Matrix();
        m.rows = rows;
        m.cols = cols;
        if (a.length() == 0) {
            m.floats = a.dataType() == DataType.FLOAT ? new float[0] : null;
            m.doubles = a.dataType() == DataType.DOUBLE ? new double[0] : null;
            return m;
        }
        if (a.dataType() == DataType.DOUBLE) {
            m.doubles = HostArrays.doubles(a);
        } else {
            m.floats = HostArrays.floats(a);
        }
        return m;
    }

    /** A new INDArray of these values viewed with {@code shape} (whose product must be rows·cols). */
    public INDArray toNd4j(long... shape) {
        return floats != null ? HostArrays.of(floats, shape) : HostArrays.of(doubles, shape);
    }

    /** Bytes of the values (what crossing the network costs, before any compression). */
    public long bytes() {
        return floats != null ? 4L * floats.length : 8L * doubles.length;
    }

    /**
     * The last {@code want} rows of the blocks laid end to end in order (blocks may have any row counts; all have the
     * same cols). When they hold fewer rows, the result has {@code want} rows with zeros in front if
     * {@code zeroPad}, else all the rows there are. Returns null when there are no rows and no padding.
     */
    public static Matrix lastRows(List<Matrix> inOrder, int want, boolean zeroPad) {
        int available = 0;
        int cols = -1;
        boolean isDouble = false;
        for (Matrix m : inOrder) {
            available += m.rows;
            cols = m.cols;
            isDouble = m.doubles != null;
        }
        if (cols < 0 || (available == 0 && !zeroPad)) {
            return null;
        }
        int taken = Math.min(want, available);
        int rows = zeroPad ? want : taken;
        Matrix out = new Matrix();
        out.rows = rows;
        out.cols = cols;
        if (isDouble) {
            out.doubles = new double[rows * cols];
        } else {
            out.floats = new float[rows * cols];
        }
        int skip = available - taken; // leading rows of the concatenation left out
        int dest = (rows - taken) * cols;
        for (Matrix m : inOrder) {
            int from = Math.min(skip, m.rows);
            skip -= from;
            int count = (m.rows - from) * cols;
            if (count > 0) {
                if (isDouble) {
                    System.arraycopy(m.doubles, from * cols, out.doubles, dest, count);
                } else {
                    System.arraycopy(m.floats, from * cols, out.floats, dest, count);
                }
                dest += count;
            }
        }
        return out;
    }
}
