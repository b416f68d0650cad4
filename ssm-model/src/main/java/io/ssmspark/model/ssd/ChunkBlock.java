package io.ssmspark.model.ssd;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reusable buffers and the per-block steps of the chunked SSD, for a block of {@code nb} consecutive
 * chunks of length Q. Two layouts are used:
 *
 * <ul>
 *   <li>per head, [b, nb, H, Q, ·] (= [b, nb, G, Hg, Q, ·]): for the intra-chunk quadratic block,
 *       whose decay mask differs per head;
 *   <li>group-stacked, [b, nb, G, Q, Hg·P]: for the state terms, so the heads of a group share one
 *       large gemm against that group's B or C.
 * </ul>
 *
 * Notation per chunk and head: cum_i = Σ_{k ≤ i} dt_k·A (chunk-local, ≤ 0), L[i][j] = exp(cum_i −
 * cum_j) for i ≥ j, u_j = dt_j·x_j, w_j = exp(cum_{Q−1} − cum_j). All decays are exponentials of
 * non-positive numbers, so nothing overflows however long the sequence.
 */
final class ChunkBlock {
  final SsdDims d;
  final int Q, nb, b, H, P, G, N, Hg;
  final DataType dtype;

  // inputs in chunk layout
  final INDArray X, DT, Bg, Cg;
  // intra-chunk quantities
  final INDArray LA, CUM, L, CB, M, U, Wdec, WU, Schunk, Sin, ECUM, chunkDecay;
  // outputs
  final INDArray Y, Yoff;
  private final INDArray causal01;

  ChunkBlock(SsdDims d, int Q, int nb, boolean forBackward) {
    this.d = d;
    this.Q = Q;
    this.nb = nb;
    b = d.batch();
    H = d.heads();
    P = d.headDim();
    G = d.groups();
    N = d.dState();
    Hg = d.headsPerGroup();
    dtype = d.dtype();
    X = z(b, nb, H, Q, P);
    DT = z(b, nb, H, Q);
    Bg = z(b, nb, G, Q, N);
    Cg = z(b, nb, G, Q, N);
    LA = z(b, nb, H, Q);
    CUM = z(b, nb, H, Q);
    L = z(b, nb, H, Q, Q);
    CB = z(b, nb, G, Q, Q);
    M = forBackward ? z(b, nb, H, Q, Q) : L; // the forward folds M into L's buffer
    U = z(b, nb, H, Q, P);
    Wdec = z(b, nb, H, Q);
    WU = z(b, nb, G, Q, Hg, P);
    Schunk = z(b, nb, H, P, N);
    Sin = z(b, nb, H, P, N);
    ECUM = z(b, nb, H, Q);
    chunkDecay = z(b, nb, H, 1);
    Y = z(b, nb, H, Q, P);
    Yoff = z(b, nb, G, Q, Hg, P);
    causal01 = Nd4j.ones(dtype, Q, Q);
    for (int i = 0; i < Q; i++) {
      causal01.get(point(i), interval(i + 1, Q)).assign(0);
    }
  }

  INDArray causal01() {
    return causal01;
  }

  INDArray z(long... shape) {
    return Nd4j.zeros(dtype, shape);
  }

  // ---------------------------------------------------------------- layouts

  /** View of padded (b, Tp, heads, f) as [b, nc, Q, heads, f] restricted to this block's chunks. */
  INDArray chunkView(INDArray padded, int firstChunk) {
    long nc = padded.size(1) / Q;
    INDArray v = padded.reshape(padded.size(0), nc, Q, padded.size(2), padded.size(3));
    return v.get(all(), interval(firstChunk, firstChunk + nb), all(), all(), all());
  }

  /** View of padded (b, Tp, H, P) as [b, nb, Q, G, Hg, P] for this block (for writing). */
  INDArray groupedChunkView(INDArray padded, int firstChunk) {
    long nc = padded.size(1) / Q;
    INDArray v = padded.reshape(b, nc, Q, G, Hg, P);
    return v.get(all(), interval(firstChunk, firstChunk + nb), all(), all(), all(), all());
  }

  /** View of padded (b, Tp, H) as [b, nb, Q, H] for this block. */
  INDArray chunkView3(INDArray padded, int firstChunk) {
    long nc = padded.size(1) / Q;
    INDArray v = padded.reshape(padded.size(0), nc, Q, padded.size(2));
    return v.get(all(), interval(firstChunk, firstChunk + nb), all(), all());
  }

  /** Copies this block's x, dt, B, C (padded, c-order) into the chunk layouts. */
  void load(INDArray x, INDArray dt, INDArray B, INDArray C, int firstChunk) {
    X.assign(chunkView(x, firstChunk).permute(0, 1, 3, 2, 4));
    DT.assign(chunkView3(dt, firstChunk).permute(0, 1, 3, 2));
    Bg.assign(chunkView(B, firstChunk).permute(0, 1, 3, 2, 4));
    Cg.assign(chunkView(C, firstChunk).permute(0, 1, 3, 2, 4));
  }

  /** [b, nb, G, Hg, Q, r] view of a per-head [b, nb, H, Q, r] buffer, permuted to [b, nb, G, Q, Hg, r]. */
  INDArray perHeadAsStacked(INDArray perHead, long r) {
    return perHead.reshape(b, nb, G, Hg, Q, r).permute(0, 1, 2, 4, 3, 5);
  }

  /** Stacked [b, nb, G, Q, Hg·P] view of the WU/Yoff-style buffers for gemms. */
  INDArray stacked2d(INDArray stacked) {
    return stacked.reshape(b, nb, G, Q, (long) Hg * P);
  }

  /** State buffer [b, nb, H, P, N] viewed as [b, nb, G, Hg·P, N]. */
  INDArray statesByGroup(INDArray states) {
    return states.reshape(b, nb, G, (long) Hg * P, N);
  }

  // ---------------------------------------------------------------- forward steps

  /** cum, L (masked decays), C·Bᵀ (masked), M = L ∘ CB, u = dt·x, Y_diag = M·u, and the chunk states. */
  void intraChunk(INDArray A) {
    Ops.mul(DT, A.reshape(1, 1, H, 1), LA);
    Ops.cumsum(LA, CUM, 3, false);
    // L[i][j] = exp(min(cum_i − cum_j, 0)): exact below the diagonal; above it the min keeps exp
    // finite and the masked C·Bᵀ zeroes the entry.
    Ops.sub(CUM.reshape(b, nb, H, Q, 1), CUM.reshape(b, nb, H, 1, Q), L);
    Nd4j.exec(new ScalarMin(L, null, L, 0.0));
    Nd4j.exec(new Exp(L, L));
    Ops.matmul(Cg, Bg, CB, false, true);
    Ops.mul(CB, causal01, CB);
    Ops.mul(L.reshape(b, nb, G, Hg, Q, Q), CB.reshape(b, nb, G, 1, Q, Q), M.reshape(b, nb, G, Hg, Q, Q));
    Ops.mul(X, DT.reshape(b, nb, H, Q, 1), U);
    Ops.matmul(M, U, Y, false, false);
    // chunk states: S_c = Σ_j w_j·u_j·B_jᵀ, one gemm per (b, chunk, group) over its stacked heads
    INDArray cumLast = CUM.get(all(), all(), all(), interval(Q - 1, Q));
    Ops.sub(cumLast, CUM, Wdec);
    Nd4j.exec(new Exp(Wdec, Wdec));
    Ops.mul(perHeadAsStacked(U, P), perHeadAsStacked(Wdec.reshape(b, nb, H, Q, 1), 1), WU);
    Ops.matmul(stacked2d(WU), Bg, statesByGroup(Schunk), true, false);
    Nd4j.exec(new Exp(cumLast, chunkDecay));
    Nd4j.exec(new Exp(CUM, ECUM));
  }

  /**
   * The inter-chunk recurrence, the one sequential step (O(nb) small ops): Sin[c] = state entering
   * chunk c; state ← α_c·state + S_c. Updates {@code state} in place to the block's end state.
   */
  void propagateStates(INDArray state) {
    for (int c = 0; c < nb; c++) {
      Sin.get(all(), point(c)).assign(state);
      INDArray decay = chunkDecay.get(all(), point(c)).reshape(b, H, 1, 1);
      Ops.mul(state, decay, state);
      state.addi(Schunk.get(all(), point(c)));
    }
  }

  /** Yoff (unscaled) = C·Sinᵀ per group, stacked [b, nb, G, Q, Hg·P]. */
  void stateToOutputUnscaled() {
    Ops.matmul(Cg, statesByGroup(Sin), stacked2d(Yoff), false, true);
  }

  /** [b, nb, G, Q, Hg, 1] view of exp(cum). */
  INDArray ecumStacked() {
    return perHeadAsStacked(ECUM.reshape(b, nb, H, Q, 1), 1);
  }

  /** y for this block = Y_diag + exp(cum)·C·Sinᵀ (+ D·x), written into the padded output. */
  void writeOutput(INDArray yPadded, int firstChunk, INDArray D) {
    if (D != null) {
      INDArray dView = d.dPerChannel() ? D.reshape(1, 1, H, 1, P) : D.reshape(1, 1, H, 1, 1);
      Ops.mul(X, dView, X);
      Y.addi(X);
    }
    stateToOutputUnscaled();
    Ops.mul(Yoff, ecumStacked(), Yoff);
    INDArray out = groupedChunkView(yPadded, firstChunk);
    Ops.add(
        Y.reshape(b, nb, G, Hg, Q, P).permute(0, 1, 4, 2, 3, 5),
        Yoff.permute(0, 1, 3, 2, 4, 5),
        out);
  }
}
