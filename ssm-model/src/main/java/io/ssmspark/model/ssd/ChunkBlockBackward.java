package io.ssmspark.model.ssd;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The backward of one block of chunks, beside the forward steps of {@link ChunkBlock} it reverses
 * (same notation). The block's forward quantities must already be recomputed in {@code f}
 * (load, intraChunk, propagateStates). Per chunk and head, with dY the incoming gradient:
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
  private final int b, nb, H, Q, P, G, N, Hg;
  private final INDArray dYh, dYe, dSinOut, dSchunk, dM, dU, dX, dDT, dCUM, dLA, dBg, dCg, dCB, dWU;
  private final INDArray tmpQP, tmpStack, tmpStackSum, tmpQ1, tmpQ2, tmpState, tmpH, dAlpha;

  ChunkBlockBackward(ChunkBlock f) {
    this.f = f;
    b = f.b;
    nb = f.nb;
    H = f.H;
    Q = f.Q;
    P = f.P;
    G = f.G;
    N = f.N;
    Hg = f.Hg;
    dYh = f.z(b, nb, H, Q, P);
    dYe = f.z(b, nb, G, Q, Hg, P);
    dSinOut = f.z(b, nb, H, P, N);
    dSchunk = f.z(b, nb, H, P, N);
    dM = f.z(b, nb, H, Q, Q);
    dU = f.z(b, nb, H, Q, P);
    dX = f.z(b, nb, H, Q, P);
    dDT = f.z(b, nb, H, Q);
    dCUM = f.z(b, nb, H, Q);
    dLA = f.z(b, nb, H, Q);
    dBg = f.z(b, nb, G, Q, N);
    dCg = f.z(b, nb, G, Q, N);
    dCB = f.z(b, nb, G, Q, Q);
    dWU = f.z(b, nb, G, Q, Hg, P);
    tmpQP = f.z(b, nb, H, Q, P);
    tmpStack = f.z(b, nb, G, Q, Hg, P);
    tmpStackSum = f.z(b, nb, G, Q, Hg);
    tmpQ1 = f.z(b, nb, H, Q);
    tmpQ2 = f.z(b, nb, H, Q);
    tmpState = f.z(b, nb, H, P, N);
    tmpH = f.z(b, nb, H);
    dAlpha = f.z(b, nb, H);
  }

  /**
   * Back-propagates through this block. {@code dState} holds dℓ/d(state at the block's end) and is
   * updated in place to dℓ/d(state at the block's start); input gradients go into {@code g}.
   */
  void run(INDArray dyPadded, int firstChunk, INDArray A, INDArray dState, ChunkedSsd.Grads g) {
    dYh.assign(f.chunkView(dyPadded, firstChunk).permute(0, 1, 3, 2, 4));
    stateToOutputBackward(dyPadded, firstChunk);
    recurrenceBackward(dState);
    chunkStateBackward();
    intraChunkBackward();
    decayBackward(A, g.dA);
    // u = dt·x
    Ops.mul(dU, f.DT.reshape(b, nb, H, Q, 1), dX);
    Ops.mul(dU, f.X, tmpQP);
    Ops.sum(tmpQP, tmpQ1, 4);
    dDT.addi(tmpQ1);
    f.chunkView(g.dx, firstChunk).assign(dX.permute(0, 1, 3, 2, 4));
    f.chunkView3(g.ddt, firstChunk).assign(dDT.permute(0, 1, 3, 2));
    f.chunkView(g.dB, firstChunk).assign(dBg.permute(0, 1, 3, 2, 4));
    f.chunkView(g.dC, firstChunk).assign(dCg.permute(0, 1, 3, 2, 4));
  }

  /** y_off = exp(cum)·C·Sinᵀ: gives dSin (from the outputs), dC, and dcum. */
  private void stateToOutputBackward(INDArray dyPadded, int firstChunk) {
    // dYe = dY·exp(cum), stacked by group
    Ops.mul(f.groupedChunkView(dyPadded, firstChunk).permute(0, 1, 3, 2, 4, 5), f.ecumStacked(), dYe);
    Ops.matmul(f.stacked2d(dYe), f.Cg, f.statesByGroup(dSinOut), true, false);
    Ops.matmul(f.stacked2d(dYe), f.statesByGroup(f.Sin), dCg, false, false);
    // dcum_i = Σ_p dY_i·y_off,i = Σ_p dYe_i·(C·Sinᵀ)_i
    f.stateToOutputUnscaled();
    Ops.mul(dYe, f.Yoff, tmpStack);
    Ops.sum(tmpStack, tmpStackSum, 5);
    dCUM.reshape(b, nb, G, Hg, Q).assign(tmpStackSum.permute(0, 1, 2, 4, 3));
  }

  /** S_end = α·Sin + S_c, chunk by chunk in reverse; then dα = ⟨dS_end, Sin⟩ for all chunks at once. */
  private void recurrenceBackward(INDArray dState) {
    for (int c = nb - 1; c >= 0; c--) {
      dSchunk.get(all(), point(c)).assign(dState);
      INDArray decay = f.chunkDecay.get(all(), point(c)).reshape(b, H, 1, 1);
      Ops.mul(dState, decay, dState);
      dState.addi(dSinOut.get(all(), point(c)));
    }
    Ops.mul(dSchunk, f.Sin, tmpState);
    Ops.sum(tmpState, dAlpha, 3, 4);
    Ops.mul(dAlpha, f.chunkDecay.reshape(b, nb, H), dAlpha); // dcum_{Q−1} += α·dα
    lastCum().addi(dAlpha.reshape(b, nb, H, 1));
  }

  /** S_c = Σ_j w_j·u_j·B_jᵀ: gives du, dB, and dcum through w_j = exp(cum_{Q−1} − cum_j). */
  private void chunkStateBackward() {
    Ops.matmul(f.Bg, f.statesByGroup(dSchunk), f.stacked2d(dWU), false, true);
    Ops.matmul(f.stacked2d(f.WU), f.statesByGroup(dSchunk), dBg, false, false);
    Ops.mul(dWU.permute(0, 1, 2, 4, 3, 5), f.Wdec.reshape(b, nb, G, Hg, Q, 1), dU.reshape(b, nb, G, Hg, Q, P));
    // r_j = w_j·(d(wu)_j · u_j) = du_j · u_j ; dcum_j −= r_j ; dcum_{Q−1} += Σ_j r_j
    Ops.mul(dU, f.U, tmpQP);
    Ops.sum(tmpQP, tmpQ1, 4);
    dCUM.subi(tmpQ1);
    Ops.sum(tmpQ1, tmpH, 3);
    lastCum().addi(tmpH.reshape(b, nb, H, 1));
  }

  /** Y_diag = M·u with M = L ∘ CB: gives du, dC·Bᵀ (hence dB, dC) and dcum through L. */
  private void intraChunkBackward() {
    Ops.matmul(dYh, f.U, dM, false, true);
    Ops.matmulAdd(f.M, dYh, dU, true, false);
    Ops.mul(dM, f.L, dM); // dM ∘ L
    INDArray byGroup = dM.reshape(b, nb, G, Hg, Q, Q);
    Ops.sum(byGroup, dCB, 3);
    Ops.mul(dCB, f.causal01(), dCB);
    Ops.mul(byGroup, f.CB.reshape(b, nb, G, 1, Q, Q), byGroup); // R = dM ∘ M
    Ops.sum(dM, tmpQ1, 4); // Σ_j R[i][j]
    Ops.sum(dM, tmpQ2, 3); // Σ_i R[i][j]
    dCUM.addi(tmpQ1).subi(tmpQ2);
    Ops.matmulAdd(dCB, f.Bg, dCg, false, false);
    Ops.matmulAdd(dCB, f.Cg, dBg, true, false);
  }

  /** cum = cumsum(dt·A): dla = reverse cumsum of dcum; ddt = dla·A; dA = Σ dla·dt. */
  private void decayBackward(INDArray A, INDArray dA) {
    Ops.cumsum(dCUM, dLA, 3, true);
    Ops.mul(dLA, A.reshape(1, 1, H, 1), dDT);
    Ops.mul(dLA, f.DT, tmpQ1);
    dA.addi(tmpQ1.sum(0, 1, 3));
  }

  private INDArray lastCum() {
    return dCUM.get(all(), all(), all(), interval(Q - 1, Q));
  }
}
