package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A fully connected layer in PyTorch layout: y = x Wᵀ + b with W [out, in] and b [out] (optional).
 * Activations are token-local rows: x [rows, in], y [rows, out].
 *
 * <p>The tied LM head is this layer without bias on the embedding weight [V, d]: logits = Linear.forward(h,
 * embedding, null), and its backward adds into the embedding's gradient, together with
 * {@link Embedding#backward}.
 */
public final class Linear {

    private Linear() {}

    /** y = x Wᵀ (+ b). {@code bias} may be null. */
    public static INDArray forward(INDArray x, INDArray weight, INDArray bias) {
        long[] xs = Shapes.requireRank("x", x, 2);
        long[] ws = Shapes.requireRank("weight", weight, 2);
        DataType dt = x.dataType();
        Shapes.requireShape("weight", weight, dt, ws[0], xs[1]);
        Shapes.requireShapeIfPresent("bias", bias, dt, ws[0]);
        INDArray y = Nd4j.createUninitialized(dt, xs[0], ws[0]);
        Ops.matmul(x, weight, y, false, true, 1.0, 0.0);
        if (bias != null) {
            Ops.add(y, bias, y);
        }
        return y;
    }

    /**
     * Returns dx = dy W and accumulates dW += dyᵀ x and dB += Σ_rows dy. Either gradient accumulator may be
     * null (a frozen or absent parameter).
     */
    public static INDArray backward(INDArray x, INDArray weight, INDArray dy, INDArray dWeight, INDArray dBias) {
        long[] xs = Shapes.requireRank("x", x, 2);
        long[] ws = Shapes.requireRank("weight", weight, 2);
        DataType dt = x.dataType();
        Shapes.requireShape("weight", weight, dt, ws[0], xs[1]);
        Shapes.requireShape("dy", dy, dt, xs[0], ws[0]);
        Shapes.requireShapeIfPresent("dWeight", dWeight, dt, ws[0], ws[1]);
        Shapes.requireShapeIfPresent("dBias", dBias, dt, ws[0]);
        if (dWeight != null) {
            Ops.matmul(dy, x, dWeight, true, false, 1.0, 1.0);
        }
        if (dBias != null) {
            Ops.addColumnSums(dBias, dy);
        }
        INDArray dx = Nd4j.createUninitialized(dt, xs[0], xs[1]);
        Ops.matmul(dy, weight, dx, false, false, 1.0, 0.0);
        return dx;
    }
}
