package io.ssmspark.model.tensor;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The one set of tensor argument checks, each failing with one IllegalArgumentException whose message names the
 * tensor, and {@link #contiguous}, the c-ordered buffer the layers reshape as views.
 */
public final class Shapes {

    private Shapes() {}

    /** Throws one IllegalArgumentException with the formatted message when {@code condition} is false. */
    public static void require(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }

    /** Requires a non-null FLOAT or DOUBLE tensor. */
    public static void requireFloating(String name, INDArray a) {
        require(a != null, "tensor '%s' is required but was null", name);
        DataType t = a.dataType();
        require(
                t == DataType.FLOAT || t == DataType.DOUBLE,
                "tensor '%s': expected dtype FLOAT or DOUBLE but found %s",
                name,
                t);
    }

    /** Requires {@code a} to have exactly the given shape and the dtype {@code dtype}. */
    public static void requireShape(String name, INDArray a, DataType dtype, long... expected) {
        require(a != null, "tensor '%s' is required but was null (expected shape %s)", name, Arrays.toString(expected));
        require(
                Arrays.equals(a.shape(), expected),
                "tensor '%s': expected shape %s but found %s",
                name,
                Arrays.toString(expected),
                Arrays.toString(a.shape()));
        require(
                a.dataType() == dtype,
                "tensor '%s': expected dtype %s (the input's) but found %s",
                name,
                dtype,
                a.dataType());
    }

    /** Like {@link #requireShape} but accepts null (an absent optional tensor). */
    public static void requireShapeIfPresent(String name, INDArray a, DataType dtype, long... expected) {
        if (a != null) {
            requireShape(name, a, dtype, expected);
        }
    }

    /** Requires a FLOAT or DOUBLE tensor of the given rank and returns its shape. */
    public static long[] requireRank(String name, INDArray a, int rank) {
        requireFloating(name, a);
        require(
                a.rank() == rank,
                "tensor '%s': expected rank %d but found shape %s",
                name,
                rank,
                Arrays.toString(a.shape()));
        return a.shape();
    }

    /** {@code a} itself when it is a plain c-ordered buffer, otherwise a c-ordered copy (so reshape is a view). */
    public static INDArray contiguous(INDArray a) {
        return (a.isView() || a.ordering() != 'c') ? a.dup('c') : a;
    }

    /** {@code a} as one row [1, n] (a view of a contiguous copy); null stays null. */
    public static INDArray asRow(INDArray a) {
        return a == null ? null : contiguous(a).reshape(1, a.length());
    }
}
