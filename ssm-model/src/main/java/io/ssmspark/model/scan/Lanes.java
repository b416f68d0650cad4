package io.ssmspark.model.scan;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The scan's one-position arithmetic on L independent lanes (sequences, or chunks of sequences), each op one
 * batched ND4J call over all lanes: the chunked scan advances every chunk of a block through these, and the
 * one-token step is the same arithmetic with one lane per sequence. States are dense [L, D, N]; per-lane rows
 * (dt, v = dt·x, y: [L, D]; B, C: [L, N]) are dense arrays of any shape with that many elements.
 */
final class Lanes {
  private Lanes() {}

  /** decay = exp(dt ⊗ A), [L, D, N]: dt ≥ 0 and A < 0, so the exponent is never positive. */
  static void decay(INDArray dt, INDArray A, INDArray decay) {
    long lanes = decay.size(0), d = decay.size(1), n = decay.size(2);
    Ops.mul(Layouts.reshapeView(dt, lanes, d, 1), Layouts.reshapeView(A, 1, d, n), decay);
    Ops.exp(decay, decay);
  }

  /** A new exp(dt ⊗ A) for dt [L, D] (a dense copy is taken when dt is not dense). */
  static INDArray decay(INDArray dt, INDArray A) {
    INDArray out = Nd4j.createUninitialized(A.dataType(), dt.size(0), A.size(0), A.size(1));
    decay(Layouts.isDense(dt) ? dt : dt.dup('c'), A, out);
    return out;
  }

  /** h ← decay ⊙ h + v ⊗ B: one step of the recurrence, in place. */
  static void advance(INDArray h, INDArray decay, INDArray v, INDArray b) {
    Ops.mul(h, decay, h);
    addOuter(h, v, b);
  }

  /** out [L, D, N] += u ⊗ w for rows u [L, D] and w [L, N] (one batched rank-1 gemm). */
  static void addOuter(INDArray out, INDArray u, INDArray w) {
    long lanes = out.size(0), d = out.size(1), n = out.size(2);
    Ops.matmul(Layouts.reshapeView(u, lanes, d, 1), Layouts.reshapeView(w, lanes, 1, n), out, false, false, 1.0,
        1.0);
  }

  /** y [L, D] = Σ_n h[·, ·, n]·c[·, n]: the read-out of states h [L, D, N] by rows c [L, N]. */
  static void readOut(INDArray h, INDArray c, INDArray y) {
    long lanes = h.size(0), d = h.size(1), n = h.size(2);
    Ops.matmul(h, Layouts.reshapeView(c, lanes, n, 1), Layouts.reshapeView(y, lanes, d, 1), false, false);
  }

  /** out [L, N] = Σ_d u[·, d]·h[·, d, ·]: rows u [L, D] contracted with states h [L, D, N]. */
  static void contractChannels(INDArray u, INDArray h, INDArray out) {
    long lanes = h.size(0), d = h.size(1), n = h.size(2);
    Ops.matmul(Layouts.reshapeView(u, lanes, 1, d), h, Layouts.reshapeView(out, lanes, 1, n), false, false);
  }
}
