package io.ssmspark.model.tensor;

import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.reduce.same.Max;
import org.nd4j.linalg.api.ops.impl.reduce.same.Sum;
import org.nd4j.linalg.api.ops.impl.transforms.custom.CumSum;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Thin, named wrappers over the ND4J ops the kernels use, all writing into a caller-given output
 * so hot loops reuse buffers. Elementwise ops broadcast numpy-style (size-1 axes stretch).
 */
public final class Ops {
    private static final MMulTranspose[] TRANSPOSES = {
        MMulTranspose.allFalse(),
        MMulTranspose.builder().transposeB(true).build(),
        MMulTranspose.builder().transposeA(true).build(),
        MMulTranspose.builder().transposeA(true).transposeB(true).build()
    };

    private Ops() {}

    /**
     * out = alpha * op(a) @ op(b) + beta * out, batched over all leading axes (rank 2 or more).
     * op(x) is x or its transpose over the last two axes.
     */
    public static INDArray matmul(
            INDArray a, INDArray b, INDArray out, boolean transA, boolean transB, double alpha, double beta) {
        MMulTranspose t = TRANSPOSES[(transA ? 2 : 0) + (transB ? 1 : 0)];
        Nd4j.exec(new Mmul(a, b, out, alpha, beta, t));
        return out;
    }

    /** out = op(a) @ op(b). */
    public static INDArray matmul(INDArray a, INDArray b, INDArray out, boolean transA, boolean transB) {
        return matmul(a, b, out, transA, transB, 1.0, 0.0);
    }

    /** out += op(a) @ op(b). */
    public static INDArray matmulAdd(INDArray a, INDArray b, INDArray out, boolean transA, boolean transB) {
        return matmul(a, b, out, transA, transB, 1.0, 1.0);
    }

    /** A new array of {@code a}'s shape and dtype holding a * b, b broadcast. */
    public static INDArray mul(INDArray a, INDArray b) {
        return mul(a, b, Nd4j.createUninitialized(a.dataType(), a.shape()));
    }

    /**
     * accumulator [n] += the column sums of x [rows, n], as the gemm 1ᵀ·x, which beats ND4J's column reduction
     * sum(0) (README, "Measured design choices").
     */
    public static void addColumnSums(INDArray accumulator, INDArray x) {
        INDArray dense = Shapes.contiguous(x);
        INDArray ones = Nd4j.ones(x.dataType(), 1, x.size(0));
        INDArray target = Layouts.isDense(accumulator) ? Layouts.reshapeView(accumulator, 1, x.size(1)) : null;
        if (target != null) {
            matmul(ones, dense, target, false, false, 1.0, 1.0);
        } else {
            INDArray sums = Nd4j.createUninitialized(x.dataType(), 1, x.size(1));
            matmul(ones, dense, sums, false, false, 1.0, 0.0);
            accumulator.addi(sums.reshape(accumulator.shape()));
        }
    }

    /** out = a * b, broadcasting. */
    public static INDArray mul(INDArray a, INDArray b, INDArray out) {
        INDArray[] v = lowRank(a, b, out);
        Nd4j.exec(new MulOp(v[0], v[1], v[2]));
        return out;
    }

    /** out = a + b, broadcasting. */
    public static INDArray add(INDArray a, INDArray b, INDArray out) {
        INDArray[] v = lowRank(a, b, out);
        Nd4j.exec(new AddOp(v[0], v[1], v[2]));
        return out;
    }

    /** out = a - b, broadcasting. */
    public static INDArray sub(INDArray a, INDArray b, INDArray out) {
        INDArray[] v = lowRank(a, b, out);
        Nd4j.exec(new SubOp(v[0], v[1], v[2]));
        return out;
    }

    /** out = a / b, broadcasting. */
    public static INDArray div(INDArray a, INDArray b, INDArray out) {
        INDArray[] v = lowRank(a, b, out);
        Nd4j.exec(new DivOp(v[0], v[1], v[2]));
        return out;
    }

    /** The operands as views of the lowest rank that expresses the same broadcast (see Layouts). */
    private static INDArray[] lowRank(INDArray a, INDArray b, INDArray out) {
        long[][] s = Layouts.coalescedShapes(out, a, b);
        if (s == null || s[0].length == out.rank()) {
            return new INDArray[] {a, b, out};
        }
        return new INDArray[] {
            Layouts.reshapeView(a, s[1]), Layouts.reshapeView(b, s[2]), Layouts.reshapeView(out, s[0])
        };
    }

    /** out = sum of x over the given axes (removed from the shape). */
    public static INDArray sum(INDArray x, INDArray out, int... axes) {
        Nd4j.exec(new Sum(x, out, axes));
        return out;
    }

    /** out = max of x over the given axes (removed from the shape). */
    public static INDArray max(INDArray x, INDArray out, int... axes) {
        Nd4j.exec(new Max(x, out, axes));
        return out;
    }

    /** out = elementwise max(a, b) of same-shaped arrays. */
    public static INDArray maximum(INDArray a, INDArray b, INDArray out) {
        Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.custom.Max(a, b, out));
        return out;
    }

    /** out = e^x elementwise. */
    public static INDArray exp(INDArray x, INDArray out) {
        Nd4j.exec(new Exp(x, out));
        return out;
    }

    /** out = inclusive cumulative sum of x along axis; reverse sums from the end (Σ_{k ≥ i}). */
    public static INDArray cumsum(INDArray x, INDArray out, int axis, boolean reverse) {
        Nd4j.exec(new CumSum(x, out, false, reverse, axis));
        return out;
    }
}
