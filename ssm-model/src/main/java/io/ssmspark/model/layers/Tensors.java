package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Shared helpers of the layers: argument checks with messages that name the tensor, and short names for the
 * {@link Ops} the layers use (batched matmul into preallocated outputs, broadcasting elementwise ops).
 */
final class Tensors {

    private Tensors() {
    }

    /** Throws one IllegalArgumentException with the formatted message when {@code condition} is false. */
    static void require(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }

    /** Requires a non-null FLOAT or DOUBLE tensor. */
    static void requireFloating(String name, INDArray a) {
        require(a != null, "tensor '%s' is required but was null", name);
        DataType t = a.dataType();
        require(t == DataType.FLOAT || t == DataType.DOUBLE,
                "tensor '%s': expected dtype FLOAT or DOUBLE but found %s", name, t);
    }

    /** Requires {@code a} to have exactly the given shape and the dtype {@code dtype}. */
    static void requireShape(String name, INDArray a, DataType dtype, long... expected) {
        require(a != null, "tensor '%s' is required but was null (expected shape %s)", name,
                Arrays.toString(expected));
        require(Arrays.equals(a.shape(), expected), "tensor '%s': expected shape %s but found %s", name,
                Arrays.toString(expected), Arrays.toString(a.shape()));
        require(a.dataType() == dtype, "tensor '%s': expected dtype %s (the input's) but found %s", name, dtype,
                a.dataType());
    }

    /** Like {@link #requireShape} but accepts null (an absent optional tensor). */
    static void requireShapeIfPresent(String name, INDArray a, DataType dtype, long... expected) {
        if (a != null) {
            requireShape(name, a, dtype, expected);
        }
    }

    /** Requires the given rank and returns the shape. */
    static long[] requireRank(String name, INDArray a, int rank) {
        requireFloating(name, a);
        require(a.rank() == rank, "tensor '%s': expected rank %d but found shape %s", name, rank,
                Arrays.toString(a.shape()));
        return a.shape();
    }

    /** {@code a} itself when it is a plain c-ordered buffer, otherwise a c-ordered copy (so reshape is a view). */
    static INDArray contiguous(INDArray a) {
        return (a.isView() || a.ordering() != 'c') ? a.dup('c') : a;
    }

    /**
     * out = alpha · op(a) · op(b) + beta · out, batched over leading dimensions when the inputs have rank above 2.
     */
    static void mmul(INDArray a, INDArray b, INDArray out, boolean transposeA, boolean transposeB, double alpha,
            double beta) {
        Ops.matmul(a, b, out, transposeA, transposeB, alpha, beta);
    }

    /**
     * accumulator [n] += Σ_rows x for x [rows, n] (dense), as the gemm 1ᵀ·x: ND4J's column reduction sum(0) ran
     * about 3x slower than this gemm on [4096, 640] here.
     */
    static void addColumnSums(INDArray accumulator, INDArray x) {
        INDArray dense = contiguous(x);
        INDArray ones = Nd4j.ones(x.dataType(), 1, x.size(0));
        INDArray target = Layouts.isDense(accumulator) ? Layouts.reshapeView(accumulator, 1, x.size(1)) : null;
        if (target != null) {
            mmul(ones, dense, target, false, false, 1.0, 1.0);
        } else {
            INDArray sums = Nd4j.createUninitialized(x.dataType(), 1, x.size(1));
            mmul(ones, dense, sums, false, false, 1.0, 0.0);
            accumulator.addi(sums.reshape(accumulator.shape()));
        }
    }

    /** A new array of {@code a}'s shape and dtype holding a ∘ b, b broadcast numpy-style. */
    static INDArray mul(INDArray a, INDArray b) {
        return Ops.mul(a, b, Nd4j.createUninitialized(a.dataType(), a.shape()));
    }

    /** out = a ∘ b (broadcast); returns out. */
    static INDArray mul(INDArray a, INDArray b, INDArray out) {
        return Ops.mul(a, b, out);
    }

    /** out = a + b (broadcast); returns out. */
    static INDArray add(INDArray a, INDArray b, INDArray out) {
        return Ops.add(a, b, out);
    }

    /** out = a − b (broadcast); returns out. */
    static INDArray sub(INDArray a, INDArray b, INDArray out) {
        return Ops.sub(a, b, out);
    }

    /** out = a / b (broadcast); returns out. */
    static INDArray div(INDArray a, INDArray b, INDArray out) {
        return Ops.div(a, b, out);
    }
}
