package io.ssmspark.jobs.score;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.data.Segment;
import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.Mamba2Mixer;
import io.ssmspark.model.tensor.Scratch;
import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One segment going through the model layer by layer inside a scoring task: it holds the segment's stream
 * (hidden + residual, [T, d], an ND4J array of its own) between layers, and each layer runs in the thread's reused
 * step block ({@link Scratch#openStep()}), so a task's native memory is one segment's stream plus one layer's
 * working set, whatever the sequence length. What crosses to other segments leaves as plain arrays
 * ({@link Matrix}, {@link SegmentRows}). The model must have been built outside any scope ({@link ModelBlob}).
 */
final class SegmentPass implements AutoCloseable {
  private final HybridLm m;
  private final int ordinal;
  private final Segment segment;
  private INDArray stream;
  /** The other stream buffer: each block writes the next stream into it, then the two swap. */
  private INDArray spare;

  private SegmentPass(HybridLm m, int ordinal, Segment segment, INDArray stream) {
    this.m = m;
    this.ordinal = ordinal;
    this.segment = segment;
    this.stream = stream;
  }

  /**
   * The segment's embedding rows: its stream entering layer 0. (This and the tails run in one-off scopes, so that
   * the step block is first sized by a whole layer, the largest step, instead of growing step by step.)
   */
  static SegmentPass embed(HybridLm m, int ordinal, Segment segment) {
    return new SegmentPass(m, ordinal, segment, Scratch.call(() -> Scratch.keep(m.embed(segment.tokens))));
  }

  int length() {
    return segment.tokens.length;
  }

  /** The stream's values (a copy), [T, d]. */
  Matrix stream() {
    return Matrix.of(stream, length(), m.config().dModel());
  }

  /** The last min(K−1, T) pre-conv rows of Mamba2 layer {@code layer}: what later segments' convs read. */
  SegmentRows convTail(int layer) {
    Mamba2Mixer.Spec sp = m.mixerSpec();
    int keep = Math.min(sp.convKernel() - 1, length());
    return Scratch.call(() -> {
      INDArray x = m.normed(layer, lastRows(keep)).reshape(1, keep, m.config().dModel());
      return new SegmentRows(ordinal, Matrix.of(Mamba2Mixer.preConvRows(x, m.mambaWeights(layer), sp), keep,
          sp.convDim()), null);
    });
  }

  /**
   * Mamba2 layer {@code layer}: the mixer runs from a zero SSM state with its conv continuing {@code halo} [K−1,
   * convDim] (null: the sequence start); {@code exchange} takes the segment's summary (α [1, H], E [1, H·P·N])
   * and returns its true initial state [1, H·P·N] (null: zeros); the segment adds exp(cum_t)·(S_in·C_t) and
   * finishes the block. The zero-state part (y0, z, dt, C) never leaves the task.
   */
  void mamba(int layer, Matrix halo, Function<SegmentRows, Matrix> exchange) {
    Mamba2Mixer.Spec sp = m.mixerSpec();
    int t = length();
    try (Scratch step = Scratch.openStep()) {
      INDArray x = m.normed(layer, stream).reshape(1, t, m.config().dModel());
      Mamba2Mixer.ZeroStatePart part = Mamba2Mixer.fromZeroState(x, m.mambaWeights(layer), sp,
          halo == null ? null : halo.toNd4j(1, sp.convKernel() - 1, sp.convDim()));
      SegmentRows summary = new SegmentRows(ordinal, Matrix.of(part.summary().alpha(), 1, sp.heads()),
          Matrix.of(part.summary().E(), 1, sp.heads() * sp.headDim() * sp.dState()));
      Matrix initial = exchange.apply(summary);
      INDArray out = Mamba2Mixer.finish(part, m.mambaWeights(layer), sp,
          initial == null ? null : initial.toNd4j(1, sp.heads(), sp.headDim(), sp.dState()));
      writeNextStream(m.finishBlock(layer, stream, out));
    }
  }

  /**
   * The keys and values of the segment's last min(need, T) tokens under attention layer {@code layer}: what later
   * segments attend to (no blocks when none are needed).
   */
  SegmentRows attentionTail(int layer, int need) {
    int keep = Math.min(need, length());
    if (keep == 0) {
      return new SegmentRows(ordinal, null, null);
    }
    return Scratch.call(() -> {
      Attention.Spec sp = m.attentionSpec();
      int kvCols = sp.numHeadsKv() * sp.headDim();
      INDArray x = m.normed(layer, lastRows(keep)).reshape(1, keep, m.config().dModel());
      Attention.Inference kv = Attention.keysAndValues(x, m.attentionWeights(layer), sp,
          segment.startOffset + length() - keep);
      return new SegmentRows(ordinal, Matrix.of(kv.key(), keep, kvCols), Matrix.of(kv.value(), keep, kvCols));
    });
  }

  /** Attention block {@code layer} over the segment after the earlier tokens' keys and values (null: none). */
  void attention(int layer, Matrix pastKeys, Matrix pastValues) {
    Attention.Spec sp = m.attentionSpec();
    int t = length();
    try (Scratch step = Scratch.openStep()) {
      INDArray x = m.normed(layer, stream).reshape(1, t, m.config().dModel());
      Attention.Inference o = Attention.infer(x, m.attentionWeights(layer), sp, segment.startOffset,
          pastKeys == null ? null : pastKeys.toNd4j(1, pastKeys.rows, sp.numHeadsKv(), sp.headDim()),
          pastValues == null ? null : pastValues.toNd4j(1, pastValues.rows, sp.numHeadsKv(), sp.headDim()));
      writeNextStream(m.finishBlock(layer, stream, o.out()));
    }
  }

  /** NLL of every position the segment predicts (its last input predicts {@code nextToken}, −1: none). */
  ScoredSegment head(int nextToken, int topK, boolean withEmbeddings) {
    int t = length();
    int n = nextToken >= 0 ? t : t - 1;
    int d = m.config().dModel();
    ScoredSegment out = new ScoredSegment();
    out.sequenceId = segment.sequenceId;
    out.ordinal = ordinal;
    out.start = segment.startOffset;
    out.targets = new int[n];
    out.nll = new double[n];
    out.embeddingDim = withEmbeddings ? d : 0;
    out.topK = topK;
    if (n == 0) {
      out.embeddings = withEmbeddings ? new float[0] : null;
      out.topIds = topK > 0 ? new int[0] : null;
      return out;
    }
    System.arraycopy(segment.tokens, 1, out.targets, 0, t - 1);
    if (n == t) {
      out.targets[t - 1] = nextToken;
    }
    try (Scratch step = Scratch.openStep()) {
      INDArray normed = m.finalNormed(n == t ? stream : stream.get(interval(0, n), all()).dup('c'));
      INDArray logits = m.head(normed);
      out.nll = CrossEntropy.forward(logits, out.targets, null).rowLoss().castTo(DataType.DOUBLE).toDoubleVector();
      if (withEmbeddings) {
        out.embeddings = normed.castTo(DataType.FLOAT).dup('c').reshape((long) n * d).toFloatVector();
      }
      if (topK > 0) {
        out.topIds = TopK.rows(logits, topK, m.config().vocabSize());
      }
    }
    return out;
  }

  /** Frees the stream buffers. */
  @Override
  public void close() {
    for (INDArray a : new INDArray[] {stream, spare}) {
      if (a != null) {
        a.close(); // our own buffers, read by no one else
      }
    }
    stream = null;
    spare = null;
  }

  /** Copies a block's output (made in the step scope) into the spare buffer, which becomes the stream. */
  private void writeNextStream(INDArray next) {
    if (spare == null) {
      spare = Scratch.keep(next);
    } else {
      spare.assign(next);
    }
    INDArray previous = stream;
    stream = spare;
    spare = previous;
  }

  /** The stream's last {@code keep} rows, [keep, d] (a copy in the current scope). */
  private INDArray lastRows(int keep) {
    int t = length();
    return stream.get(interval(t - keep, t), all()).dup('c');
  }
}
