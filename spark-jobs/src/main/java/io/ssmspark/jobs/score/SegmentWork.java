package io.ssmspark.jobs.score;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.Mamba2Mixer;
import io.ssmspark.model.tensor.Scratch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What one segment computes in each of {@link SequenceParallelScorer}'s tasks. Every step runs in a {@link Scratch}
 * scope and returns plain Java arrays ({@link Matrix}, {@link SegmentRows}, ...), so a task's ND4J intermediates
 * are freed when the step ends, not when GC runs: an executor holds the native memory of the segments in flight,
 * whatever the sequence length. The model must have been built outside any scope ({@link ModelBlob#model()}).
 */
final class SegmentWork {
  private SegmentWork() {}

  /** The segment's embedding rows: its stream entering layer 0. */
  static SegmentState embed(HybridLm m, int ordinal, String sequenceId, long start, int[] tokens) {
    return Scratch.callStep(() -> {
      SegmentState s = new SegmentState();
      s.sequenceId = sequenceId;
      s.ordinal = ordinal;
      s.start = start;
      s.tokens = tokens;
      s.stream = Matrix.of(m.embed(tokens), tokens.length, m.config().dModel());
      return s;
    });
  }

  /** The last min(K−1, T) pre-conv rows of Mamba2 layer {@code layer}: what later segments' convs read. */
  static SegmentRows convTail(HybridLm m, int layer, SegmentState s) {
    return Scratch.callStep(() -> {
      Mamba2Mixer.Spec sp = m.mixerSpec();
      int d = m.config().dModel();
      int keep = Math.min(sp.convKernel() - 1, s.length());
      INDArray x = m.normed(layer, lastRows(s, keep, d)).reshape(1, keep, d);
      return new SegmentRows(s.ordinal,
          Matrix.of(Mamba2Mixer.preConvRows(x, m.mambaWeights(layer), sp), keep, sp.convDim()), null);
    });
  }

  /**
   * Mamba2 layer {@code layer} up to its SSD, run from a zero SSM state with the conv continuing {@code halo}
   * (null: the sequence start): the segment with its pending mixer part (y0, z, dt, C) and summary (α, E).
   */
  static SegmentState mambaFromZeroState(HybridLm m, int layer, SegmentState s, Matrix halo) {
    return Scratch.callStep(() -> {
      Mamba2Mixer.Spec sp = m.mixerSpec();
      int t = s.length();
      int d = m.config().dModel();
      INDArray x = m.normed(layer, s.stream.toNd4j(t, d)).reshape(1, t, d);
      Mamba2Mixer.ZeroStatePart part = Mamba2Mixer.fromZeroState(x, m.mambaWeights(layer), sp,
          halo == null ? null : halo.toNd4j(1, sp.convKernel() - 1, sp.convDim()));
      int hp = sp.heads() * sp.headDim();
      SegmentState p = s.withStream(s.stream);
      p.y0 = Matrix.of(part.y0(), t, hp);
      p.z = Matrix.of(part.z(), t, sp.dInner());
      p.dt = Matrix.of(part.dt(), t, sp.heads());
      p.c = Matrix.of(part.c(), t, sp.groups() * sp.dState());
      p.alpha = Matrix.of(part.summary().alpha(), 1, sp.heads());
      p.e = Matrix.of(part.summary().E(), 1, hp * sp.dState());
      return p;
    });
  }

  /**
   * Finishes Mamba2 layer {@code layer} of a pending segment from its true initial SSM state (null: zeros, the
   * sequence start) and the rest of the block: the segment with its next stream.
   */
  static SegmentState mambaFinish(HybridLm m, int layer, SegmentState p, Matrix initialState) {
    return Scratch.callStep(() -> {
      Mamba2Mixer.Spec sp = m.mixerSpec();
      int t = p.length();
      int d = m.config().dModel();
      Mamba2Mixer.ZeroStatePart part = new Mamba2Mixer.ZeroStatePart(
          p.y0.toNd4j(1, t, sp.heads(), sp.headDim()), p.z.toNd4j(t, sp.dInner()), p.dt.toNd4j(1, t, sp.heads()),
          p.c.toNd4j(1, t, sp.groups(), sp.dState()), null);
      INDArray out = Mamba2Mixer.finish(part, m.mambaWeights(layer), sp,
          initialState == null ? null : initialState.toNd4j(1, sp.heads(), sp.headDim(), sp.dState()));
      INDArray stream = m.finishBlock(layer, p.stream.toNd4j(t, d), out);
      return p.withStream(Matrix.of(stream, t, d));
    });
  }

  /**
   * The keys and values of the segment's last min(need, T) tokens under attention layer {@code layer}: what later
   * segments attend to (no rows when none are needed).
   */
  static SegmentRows attentionTail(HybridLm m, int layer, SegmentState s, int need) {
    int keep = Math.min(need, s.length());
    if (keep == 0) {
      return new SegmentRows(s.ordinal, null, null);
    }
    return Scratch.callStep(() -> {
      Attention.Spec sp = m.attentionSpec();
      int d = m.config().dModel();
      int kvCols = sp.numHeadsKv() * sp.headDim();
      INDArray x = m.normed(layer, lastRows(s, keep, d)).reshape(1, keep, d);
      // a key/value depends only on its own row and absolute position; under full attention this pass runs the
      // segment's attention once more just to obtain them (quadratic, like full attention itself)
      Attention.Output o = Attention.forward(x, m.attentionWeights(layer), sp, s.start + s.length() - keep, null,
          null);
      return new SegmentRows(s.ordinal, Matrix.of(o.key(), keep, kvCols), Matrix.of(o.value(), keep, kvCols));
    });
  }

  /** Attention block {@code layer} over the segment after the earlier tokens' keys and values (null: none). */
  static SegmentState attentionBlock(HybridLm m, int layer, SegmentState s, Matrix pastKeys, Matrix pastValues) {
    return Scratch.callStep(() -> {
      Attention.Spec sp = m.attentionSpec();
      int t = s.length();
      int d = m.config().dModel();
      INDArray stream = s.stream.toNd4j(t, d);
      INDArray x = m.normed(layer, stream).reshape(1, t, d);
      Attention.Output o = Attention.forward(x, m.attentionWeights(layer), sp, s.start,
          pastKeys == null ? null : pastKeys.toNd4j(1, pastKeys.rows, sp.numHeadsKv(), sp.headDim()),
          pastValues == null ? null : pastValues.toNd4j(1, pastValues.rows, sp.numHeadsKv(), sp.headDim()));
      return s.withStream(Matrix.of(m.finishBlock(layer, stream, o.out()), t, d));
    });
  }

  /** NLL of every position the segment predicts (its last input predicts {@code nextToken}, −1: none). */
  static ScoredSegment head(HybridLm m, SegmentState s, int nextToken, int topK, boolean withEmbeddings) {
    int t = s.length();
    int n = nextToken >= 0 ? t : t - 1;
    int d = m.config().dModel();
    ScoredSegment out = new ScoredSegment();
    out.sequenceId = s.sequenceId;
    out.ordinal = s.ordinal;
    out.start = s.start;
    out.targets = new int[n];
    out.nll = new double[n];
    out.embeddingDim = withEmbeddings ? d : 0;
    out.topK = topK;
    if (n == 0) {
      out.embeddings = withEmbeddings ? new float[0] : null;
      out.topIds = topK > 0 ? new int[0] : null;
      return out;
    }
    System.arraycopy(s.tokens, 1, out.targets, 0, t - 1);
    if (n == t) {
      out.targets[t - 1] = nextToken;
    }
    try (Scratch scope = Scratch.openStep()) {
      INDArray stream = s.stream.toNd4j(t, d).get(interval(0, n), all());
      INDArray normed = m.finalNormed(stream.dup('c'));
      INDArray logits = m.head(normed);
      out.nll = CrossEntropy.forward(logits, out.targets, null).rowLoss().castTo(DataType.DOUBLE).toDoubleVector();
      if (withEmbeddings) {
        out.embeddings = normed.castTo(DataType.FLOAT).dup('c').reshape((long) n * d).toFloatVector();
      }
      if (topK > 0) {
        out.topIds = TopK.rows(logits, topK);
      }
    }
    return out;
  }

  /** The stream's last {@code keep} rows, [keep, d]. */
  private static INDArray lastRows(SegmentState s, int keep, int d) {
    int t = s.length();
    return s.stream.toNd4j(t, d).get(interval(t - keep, t), all()).dup('c');
  }
}
