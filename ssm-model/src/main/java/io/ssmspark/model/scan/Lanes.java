package io.ssmspark.model.scan;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The scan's one-position arithmetic on L independent lanes (chunks of sequences, or sequences), each op one
 * batched ND4J call over all lanes: the chunked scan advances every chunk of a block through these, and the
 * one-token step is the same arithmetic with one lane per sequence.
 *
 * <p>Inside the kernel a lane's state is laid out state-major, [L, N, D] (the transpose of mamba_ssm's (D, N) per
 * sequence), with A as Aᵀ [N, D]: then dt broadcasts along a middle axis and the read-out Σ_n C[n]·h[n, ·] is a
 * [1, N] × [N, D] gemm per lane, both of which ND4J ran faster than the same work over [L, D, N]
 * (measured on the bench shape, D = 1024 and N = 16). Per-lane rows (dt, v = dt·x, y: [L, D]; B, C: [L, N]) are
 * dense arrays of any shape with that many elements.
 */
final class Lanes {
    private Lanes() {}

    /** decay = exp(dt ⊗ A), [L, N, D] from dt [L, D] and Aᵀ [N, D]: dt ≥ 0 and A &lt; 0, so never exp(+). */
    static void decay(INDArray dt, INDArray aT, INDArray decay) {
        long lanes = decay.size(0), n = decay.size(1), d = decay.size(2);
        Ops.mul(Layouts.reshapeView(dt, lanes, 1, d), Layouts.reshapeView(aT, 1, n, d), decay);
        Ops.exp(decay, decay);
    }

    /** h ← decay ⊙ h + B ⊗ v: one step of the recurrence, in place. */
    static void advance(INDArray h, INDArray decay, INDArray v, INDArray b) {
        Ops.mul(h, decay, h);
        addOuter(h, b, v);
    }

    /** out [L, N, D] += w ⊗ u for rows w [L, N] and u [L, D] (one batched rank-1 gemm). */
    static void addOuter(INDArray out, INDArray w, INDArray u) {
        long lanes = out.size(0), n = out.size(1), d = out.size(2);
        Ops.matmul(
                Layouts.reshapeView(w, lanes, n, 1), Layouts.reshapeView(u, lanes, 1, d), out, false, false, 1.0, 1.0);
    }

    /** y [L, D] = Σ_n c[·, n]·h[·, n, ·]: the read-out of states h [L, N, D] by rows c [L, N]. */
    static void readOut(INDArray h, INDArray c, INDArray y) {
        long lanes = h.size(0), n = h.size(1), d = h.size(2);
        Ops.matmul(Layouts.reshapeView(c, lanes, 1, n), h, Layouts.reshapeView(y, lanes, 1, d), false, false);
    }

    /** y [L, D] += Σ_n c[·, n]·h[·, n, ·]. */
    static void addReadOut(INDArray h, INDArray c, INDArray y) {
        long lanes = h.size(0), n = h.size(1), d = h.size(2);
        Ops.matmul(Layouts.reshapeView(c, lanes, 1, n), h, Layouts.reshapeView(y, lanes, 1, d), false, false, 1.0, 1.0);
    }

    /** out [L, N] = Σ_d h[·, ·, d]·u[·, d]: states h [L, N, D] contracted with rows u [L, D]. */
    static void contractChannels(INDArray h, INDArray u, INDArray out) {
        long lanes = h.size(0), n = h.size(1), d = h.size(2);
        Ops.matmul(h, Layouts.reshapeView(u, lanes, d, 1), Layouts.reshapeView(out, lanes, n, 1), false, false);
    }

    /** The dense transpose of the last two axes of a [.., P, Q] array (a copy). */
    static INDArray transposeLast(INDArray a) {
        int r = a.rank();
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) {
            perm[i] = i;
        }
        perm[r - 2] = r - 1;
        perm[r - 1] = r - 2;
        long[] shape = a.shape().clone();
        shape[r - 2] = a.size(r - 1);
        shape[r - 1] = a.size(r - 2);
        INDArray out = org.nd4j.linalg.factory.Nd4j.createUninitialized(a.dataType(), shape);
        Layouts.assignPermuted(out, Layouts.isDense(a) ? a : a.dup('c'), perm);
        return out;
    }
}
