package io.ssmspark.jobs.score;

import io.ssmspark.model.lm.Mamba2Mixer;
import io.ssmspark.model.ssd.SegmentSummary;
import io.ssmspark.model.tensor.Scratch;
import java.util.ArrayList;
import java.util.List;

/**
 * What the segments of one sequence seen so far hand to the next one, per layer (DESIGN.md, "State passing across
 * segments"): the last pre-conv rows of a Mamba2 layer (as many as its conv reads), its SSM state after them, and
 * an attention layer's last keys and values (as many as the next segment may attend to). Fresh, everything is
 * null: the sequence start, where the layers begin from zeros.
 */
final class SequenceCarry {
  private final Matrix[] convRows;
  private final Matrix[] ssmStates;
  private final Matrix[] keys;
  private final Matrix[] values;

  SequenceCarry(int layers) {
    convRows = new Matrix[layers];
    ssmStates = new Matrix[layers];
    keys = new Matrix[layers];
    values = new Matrix[layers];
  }

  /** The conv's previous rows for the next segment, [K−1, convDim] zero-padded at the sequence start; null first. */
  Matrix convHalo(int layer, int rows) {
    return convRows[layer] == null ? null : Matrix.lastRows(List.of(convRows[layer]), rows, true);
  }

  /** The SSM state the next segment starts from, [1, H·P·N]; null (zeros) first. */
  Matrix ssmState(int layer) {
    return ssmStates[layer];
  }

  Matrix keys(int layer) {
    return keys[layer];
  }

  Matrix values(int layer) {
    return values[layer];
  }

  /** Adds a segment's last pre-conv rows, keeping at most {@code rows}. */
  void addConvRows(int layer, Matrix tail, int rows) {
    convRows[layer] = appendKeepingLast(convRows[layer], tail, rows);
  }

  /** Moves the SSM state past a segment with summary (α [1, H], E [1, H·P·N]): S ← α·S + E. */
  void addSummary(int layer, SegmentRows summary, Mamba2Mixer.Spec sp) {
    Matrix alpha = summary.first;
    Matrix e = summary.second;
    Matrix before = ssmStates[layer];
    if (e == null) { // a sequence's last segment hands nothing on
      return;
    }
    if (before == null) {
      ssmStates[layer] = e;
      return;
    }
    ssmStates[layer] = Scratch.callStep(() -> Matrix.of(
        new SegmentSummary(alpha.toNd4j(1, sp.heads()), e.toNd4j(1, sp.heads(), sp.headDim(), sp.dState()))
            .apply(before.toNd4j(1, sp.heads(), sp.headDim(), sp.dState())), 1, e.cols));
  }

  /** Adds a segment's last keys and values, keeping at most {@code rows} (all for full attention). */
  void addKeyValues(int layer, SegmentRows kv, int rows) {
    keys[layer] = appendKeepingLast(keys[layer], kv.first, rows);
    values[layer] = appendKeepingLast(values[layer], kv.second, rows);
  }

  private static Matrix appendKeepingLast(Matrix before, Matrix added, int rows) {
    if (added == null) {
      return before;
    }
    List<Matrix> inOrder = new ArrayList<>(2);
    if (before != null) {
      inOrder.add(before);
    }
    inOrder.add(added);
    return Matrix.lastRows(inOrder, rows, false);
  }
}
