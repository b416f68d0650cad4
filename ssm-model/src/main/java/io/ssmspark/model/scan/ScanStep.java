package io.ssmspark.model.scan;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One token of Mamba-1's selective scan, for recurrent decoding: O(D·N) work per sequence, no chunk padding; the
 * arithmetic of one position of the chunked scan with one lane per sequence (mamba_ssm's Mamba.step without
 * selective_state_update: dA = exp(dt ⊗ A), state = state·dA + x·dB, y = state·C + D·x).
 */
public final class ScanStep {
    private ScanStep() {}

    /**
     * Advances {@code state} (batch, D, N), dense c order, by one token and returns y (batch, D), including D·x.
     *
     * @param x (batch, D)
     * @param dt (batch, D), after softplus
     * @param A (D, N), negative
     * @param B (batch, N)
     * @param C (batch, N)
     * @param D (D), or null for no skip
     */
    public static INDArray step(
            INDArray x, INDArray dt, INDArray A, INDArray B, INDArray C, INDArray D, INDArray state) {
        if (x == null || x.rank() != 2) {
            throw new IllegalArgumentException("scan step x: expected shape (batch, D) but found "
                    + (x == null ? "null" : Arrays.toString(x.shape())));
        }
        long b = x.size(0);
        // The one-token problem is a T = 1 ScanInputs: reuse its shape and dtype checks.
        new ScanInputs(
                x.reshape(b, 1, x.size(1)),
                dt.reshape(b, 1, dt.size(1)),
                A,
                B.reshape(b, 1, B.size(1)),
                C.reshape(b, 1, C.size(1)),
                D);
        long d = A.size(0), n = A.size(1);
        if (state == null
                || !Arrays.equals(state.shape(), new long[] {b, d, n})
                || state.dataType() != x.dataType()
                || !Layouts.isDense(state)) {
            throw new IllegalArgumentException("scan step state: expected a dense " + x.dataType() + " array of shape "
                    + Arrays.toString(new long[] {b, d, n}) + " but found "
                    + (state == null
                            ? "null"
                            : state.dataType() + " " + Arrays.toString(state.shape())
                                    + (Layouts.isDense(state) ? "" : " (not dense c order)")));
        }
        // the kernel's state-major layout [b, N, D] (see Lanes), and back into the caller's state
        INDArray xs = dense(x);
        INDArray dts = dense(dt);
        INDArray h = Lanes.transposeLast(state);
        INDArray decay = Nd4j.createUninitialized(x.dataType(), b, n, d);
        Lanes.decay(dts, Lanes.transposeLast(A), decay);
        Lanes.advance(h, decay, Ops.mul(xs, dts), dense(B));
        INDArray y = Nd4j.createUninitialized(x.dataType(), b, d);
        Lanes.readOut(h, dense(C), y);
        Layouts.assignPermuted(state, h, 0, 2, 1);
        if (D != null) {
            y.addi(Ops.mul(xs, D.reshape(1, d)));
        }
        return y;
    }

    private static INDArray dense(INDArray a) {
        return Layouts.isDense(a) ? a : a.dup('c');
    }
}
