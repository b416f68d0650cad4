package io.ssmspark.model.ssd;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The backward of one block of chunks, beside the forward steps of {@link ChunkBlock} it reverses
 * (same notation and layouts). The block's forward quantities must already be recomputed in
 * {@code f} (load, intraChunk, propagateStates). Per chunk and head, with dY the incoming gradient:
 *
 * <pre>
 *   y_i   = Σ_j M[i][j]·u_j + exp(cum_i)·Sin·C_i                     M = L ∘ (C·Bᵀ)
 *   S_c   = Σ_j w_j·u_j·B_jᵀ,   S_end = α·Sin + S_c,   α = exp(cum_{Q−1}),  w_j = exp(cum_{Q−1} − cum_j)
 *
 *   dSin  = Σ_i exp(cum_i)·dY_iᵀ·C_i + α·dS_end       dS_c = dS_end      dα = ⟨dS_end, Sin⟩
 *   dC_i += exp(cum_i)·dY_i·Sin + Σ_j dCB[i][j]·B_j    dCB = Σ_heads (dY·uᵀ) ∘ L  (masked)
 *   dB_j += w_j·u_jᵀ·dS_c + Σ_i dCB[i][j]·C_i
 *   du_j  = Mᵀ·dY + w_j·dS_c·B_j
 *   dcum_i = Σ_p dY_i·yoff_i + Σ_j R[i][j] − Σ_j R[j][i] − r_i     R = (dY·uᵀ) ∘ M,  r_i = du_i^state·u_i
 *   dcum_{Q−1} += Σ_j r_j + α·dα
 * </pre>
 *
 * and the last step maps dcum to dt and A through cum = cumsum(dt·A) (a reverse cumsum).
 */
final class ChunkBlockBackward {
    final ChunkBlock f;
    private final int nb, H, Q, P, G, Hg;
    private final long rows; // Hg·nb·G: one row per (head, chunk)
    // head-major
    private final INDArray dYhm, dM, dU, dX, dDT, dCUM, dLA, tmpHM, tmpQ1, tmpQ2, tmpLast;
    // group-stacked and per group
    private final INDArray dYe, dWU, tmpStack, tmpStackSum, dBg, dCg, dCB;
    // states
    private final INDArray dSinOut, dSchunk, tmpState, dAlpha;
    private final INDArray[] dSchunkAt, dSinOutAt;

    ChunkBlockBackward(ChunkBlock f) {
        this.f = f;
        nb = f.nb;
        H = f.H;
        Q = f.Q;
        P = f.P;
        G = f.G;
        Hg = f.Hg;
        rows = (long) Hg * nb * G;
        int N = f.N;
        dYhm = f.z(Hg, nb, G, Q, P);
        dM = f.z(Hg, nb, G, Q, Q);
        dU = f.z(Hg, nb, G, Q, P);
        dX = f.z(Hg, nb, G, Q, P);
        dDT = f.z(Hg, nb, G, Q);
        dCUM = f.z(Hg, nb, G, Q);
        dLA = f.z(Hg, nb, G, Q);
        tmpHM = f.z(Hg, nb, G, Q, P);
        tmpQ1 = f.z(Hg, nb, G, Q);
        tmpQ2 = f.z(Hg, nb, G, Q);
        tmpLast = f.z(rows, 1);
        dYe = f.z(nb, G, Q, Hg, P);
        dWU = f.z(nb, G, Q, Hg, P);
        tmpStack = f.z(nb, G, Q, Hg, P);
        tmpStackSum = f.z(nb, G, Q, Hg);
        dBg = f.z(nb, G, Q, N);
        dCg = f.z(nb, G, Q, N);
        dCB = f.z(nb, G, Q, Q);
        dSinOut = f.z(nb, H, P, N);
        dSchunk = f.z(nb, H, P, N);
        tmpState = f.z(nb, H, P, N);
        dAlpha = f.z(nb, H);
        dSchunkAt = new INDArray[nb];
        dSinOutAt = new INDArray[nb];
        for (int c = 0; c < nb; c++) {
            dSchunkAt[c] = dSchunk.slice(c);
            dSinOutAt[c] = dSinOut.slice(c);
        }
    }

    /**
     * Back-propagates through the block starting at flat chunk {@code first}. {@code dState} [H, P, N]
     * holds dℓ/d(state after the block's last chunk) and becomes dℓ/d(state entering its first);
     * at sequence ends it restarts from {@code dFinal}[seq], at sequence starts it writes
     * {@code g.dInitial}[seq]. Input gradients go into {@code g}.
     */
    void run(
            INDArray dyPadded, int first, int chunksPerSequence, INDArray dState, INDArray dFinal, ChunkedSsd.Grads g) {
        INDArray dyNatural = f.naturalView(dyPadded, first, P);
        Layouts.assignPermuted(dYhm, dyNatural, ChunkBlock.NATURAL_TO_HEAD_MAJOR);
        stateToOutputBackward(dyNatural);
        recurrenceBackward(first, chunksPerSequence, dState, dFinal, g.dInitial);
        chunkStateBackward();
        intraChunkBackward();
        decayBackward(g.dA);
        // u = dt·x
        Ops.mul(dU, f.col(f.DT), dX);
        Ops.mul(dU, f.X, tmpHM);
        Ops.sum(tmpHM.reshape(rows * Q, P), tmpQ1.reshape(rows * Q), 1);
        dDT.addi(tmpQ1);
        Layouts.assignPermuted(f.naturalView(g.dx, first, P), dX, ChunkBlock.HEAD_MAJOR_TO_NATURAL);
        Layouts.assignPermuted(f.naturalView(g.ddt, first, 1), f.col(dDT), ChunkBlock.HEAD_MAJOR_TO_NATURAL);
        Layouts.assignPermuted(f.groupView(g.dB, first), dBg, 0, 2, 1, 3);
        Layouts.assignPermuted(f.groupView(g.dC, first), dCg, 0, 2, 1, 3);
    }

    /** y_off = exp(cum)·C·Sinᵀ: gives dSin (from the outputs), dC, and dcum. */
    private void stateToOutputBackward(INDArray dyNatural) {
        Layouts.assignPermuted(dYe, dyNatural, ChunkBlock.SWAP_G_Q);
        Ops.mul(dYe, f.ecumStacked, dYe); // dY·exp(cum), stacked by group
        Ops.matmul(f.stacked2d(dYe), f.perGroup(f.Cg), f.statesByGroup(dSinOut), true, false);
        Ops.matmul(f.stacked2d(dYe), f.statesByGroup(f.Sin), f.perGroup(dCg), false, false);
        // dcum_i = Σ_p dY_i·y_off,i = Σ_p dYe_i·(C·Sinᵀ)_i
        f.stateToOutputUnscaled();
        Ops.mul(dYe, f.Yoff, tmpStack);
        Ops.sum(tmpStack.reshape((long) nb * G * Q * Hg, P), tmpStackSum.reshape((long) nb * G * Q * Hg), 1);
        Layouts.assignPermuted(dCUM, tmpStackSum, 3, 0, 1, 2);
    }

    /**
     * S_end = α·Sin + S_c, chunk by chunk in reverse (dState: dℓ/dS_end, then dℓ/dSin); then
     * dα = ⟨dS_end, Sin⟩ for all chunks at once.
     */
    private void recurrenceBackward(
            int first, int chunksPerSequence, INDArray dState, INDArray dFinal, INDArray dInitial) {
        for (int c = nb - 1; c >= 0; c--) {
            int k = first + c;
            if (k % chunksPerSequence == chunksPerSequence - 1) {
                dState.assign(dFinal.slice(k / chunksPerSequence));
            }
            dSchunkAt[c].assign(dState);
            Ops.mul(dState, f.decayAt[c], dState);
            dState.addi(dSinOutAt[c]);
            if (k % chunksPerSequence == 0) {
                dInitial.slice(k / chunksPerSequence).assign(dState);
            }
        }
        Ops.mul(dSchunk, f.Sin, tmpState);
        Ops.sum(tmpState.reshape((long) nb * H, (long) P * f.N), dAlpha.reshape((long) nb * H), 1);
        Ops.mul(dAlpha, f.chunkDecay.reshape(nb, H), dAlpha); // dcum_{Q−1} += α·dα
        Layouts.assignPermuted(tmpLast.reshape(Hg, nb, G), dAlpha.reshape(nb, G, Hg), 2, 0, 1);
        f.last(dCUM).addi(tmpLast);
    }

    /** S_c = Σ_j w_j·u_j·B_jᵀ: gives du, dB, and dcum through w_j = exp(cum_{Q−1} − cum_j). */
    private void chunkStateBackward() {
        Ops.matmul(f.perGroup(f.Bg), f.statesByGroup(dSchunk), f.stacked2d(dWU), false, true);
        Ops.matmul(f.stacked2d(f.WU), f.statesByGroup(dSchunk), f.perGroup(dBg), false, false);
        Layouts.assignPermuted(dU, dWU, ChunkBlock.STACKED_TO_HEAD_MAJOR);
        Ops.mul(dU, f.col(f.Wdec), dU);
        // r_j = du_j·u_j ; dcum_j −= r_j ; dcum_{Q−1} += Σ_j r_j
        Ops.mul(dU, f.U, tmpHM);
        Ops.sum(tmpHM.reshape(rows * Q, P), tmpQ1.reshape(rows * Q), 1);
        dCUM.subi(tmpQ1);
        Ops.sum(tmpQ1.reshape(rows, Q), tmpLast.reshape(rows), 1);
        f.last(dCUM).addi(tmpLast);
    }

    /** Y_diag = M·u with M = L ∘ CB: gives du, dC·Bᵀ (hence dB, dC) and dcum through L. */
    private void intraChunkBackward() {
        Ops.matmul(f.headBatches(dYhm), f.headBatches(f.U), f.headBatches(dM), false, true);
        Ops.matmulAdd(f.headBatches(f.M), f.headBatches(dYhm), f.headBatches(dU), true, false);
        Ops.mul(dM, f.L, dM); // dM ∘ L
        Ops.sum(
                dM.reshape(Hg, (long) nb * G * Q * Q),
                dCB.reshape((long) nb * G * Q * Q),
                0); // Σ over the group's heads
        Ops.mul(dCB, f.causal01(), dCB);
        Ops.mul(dM, f.CB, dM); // R = dM ∘ M
        INDArray r = dM.reshape(rows, Q, Q);
        Ops.sum(r, tmpQ1.reshape(rows, Q), 2); // Σ_j R[i][j]
        Ops.sum(r, tmpQ2.reshape(rows, Q), 1); // Σ_i R[i][j]
        dCUM.addi(tmpQ1).subi(tmpQ2);
        INDArray cb = dCB.reshape((long) nb * G, Q, Q);
        Ops.matmulAdd(cb, f.perGroup(f.Bg), f.perGroup(dCg), false, false);
        Ops.matmulAdd(cb, f.perGroup(f.Cg), f.perGroup(dBg), true, false);
    }

    /** cum = cumsum(dt·A): dla = reverse cumsum of dcum; ddt = dla·A; dA = Σ dla·dt. */
    private void decayBackward(INDArray dA) {
        Ops.cumsum(dCUM.reshape(rows, Q), dLA.reshape(rows, Q), 1, true);
        Ops.mul(dLA, f.aHeadMajor(), dDT);
        Ops.mul(dLA, f.DT, tmpQ1);
        INDArray perHead = tmpQ1.reshape(Hg, nb, G, Q).sum(1, 3); // [Hg, G]
        dA.addi(perHead.transpose().reshape(H));
    }
}
