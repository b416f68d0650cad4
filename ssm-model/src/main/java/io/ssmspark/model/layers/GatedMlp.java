package io.ssmspark.model.layers;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * mamba_ssm's GatedMLP without biases, on token rows x [rows, d]: fc1 (weight [2·hidden, d]) gives [y, gate]
 * (the first and last hidden columns), and out = fc2(y · silu(gate)) with fc2 weight [d, hidden].
 */
public final class GatedMlp {

    /**
     * The forward's output and what its backward reuses: fc1Out [rows, 2·hidden] (y and gate) and the gated
     * activation y·silu(gate) [rows, hidden].
     */
    public record Output(INDArray out, INDArray fc1Out, INDArray gated) {}

    private GatedMlp() {}

    public static Output forward(INDArray x, INDArray fc1Weight, INDArray fc2Weight) {
        long hidden = check(x, fc1Weight, fc2Weight);
        INDArray fc1Out = Linear.forward(x, fc1Weight, null);
        INDArray gated = Activations.silu(gate(fc1Out, hidden)).muli(value(fc1Out, hidden));
        return new Output(Linear.forward(gated, fc2Weight, null), fc1Out, gated);
    }

    /** Returns dx and adds into dFc1 and dFc2 (either may be null). */
    public static INDArray backward(
            INDArray x,
            INDArray fc1Weight,
            INDArray fc2Weight,
            Output forward,
            INDArray dOut,
            INDArray dFc1Weight,
            INDArray dFc2Weight) {
        long hidden = check(x, fc1Weight, fc2Weight);
        DataType dt = x.dataType();
        Shapes.requireShape("dOut", dOut, dt, x.size(0), x.size(1));
        INDArray dGated = Linear.backward(forward.gated(), fc2Weight, dOut, dFc2Weight, null);
        INDArray y = value(forward.fc1Out(), hidden);
        INDArray g = gate(forward.fc1Out(), hidden);
        INDArray dFc1Out = Nd4j.createUninitialized(dt, x.size(0), 2 * hidden);
        Activations.Silu silu = Activations.siluWithGrad(g);
        value(dFc1Out, hidden).assign(dGated.mul(silu.value()));
        gate(dFc1Out, hidden).assign(dGated.mul(y).muli(silu.grad()));
        return Linear.backward(x, fc1Weight, dFc1Out, dFc1Weight, null);
    }

    private static INDArray value(INDArray fc1Out, long hidden) {
        return fc1Out.get(all(), interval(0, hidden));
    }

    private static INDArray gate(INDArray fc1Out, long hidden) {
        return fc1Out.get(all(), interval(hidden, 2 * hidden));
    }

    /** Returns the hidden width. */
    private static long check(INDArray x, INDArray fc1Weight, INDArray fc2Weight) {
        long[] xs = Shapes.requireRank("x", x, 2);
        long[] f1 = Shapes.requireRank("fc1.weight", fc1Weight, 2);
        Shapes.require(
                f1[0] % 2 == 0, "tensor 'fc1.weight': expected an even number of rows (2·hidden) but found %d", f1[0]);
        long hidden = f1[0] / 2;
        Shapes.requireShape("fc1.weight", fc1Weight, x.dataType(), 2 * hidden, xs[1]);
        Shapes.requireShape("fc2.weight", fc2Weight, x.dataType(), xs[1], hidden);
        return hidden;
    }
}
