package io.ssmspark.jobs.score;

import io.ssmspark.data.Segment;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.Mamba2Mixer;
import io.ssmspark.model.ssd.SegmentSummary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Scores long sequences cut into segments on different executors, layer by layer (DESIGN.md, "State passing
 * across segments"), with the result of one process scoring each sequence whole.
 *
 * <p>The segments live in a persisted RDD of {@link SegmentState}s (their stream, hidden + residual). Per layer:
 * <ul>
 * <li>Mamba2: (1) every segment sends its last K−1 pre-conv rows; the driver gives each segment the K−1 rows before
 * it, gathered over as many earlier segments as it takes. (2) Every segment runs its mixer from a zero SSM state
 * and sends its summary (α, E). (3) The driver scans each sequence's summaries in order (exclusive scan) and
 * sends back each segment's initial state; the segment adds exp(cum_t)·(S_in·C_t) and finishes the block.</li>
 * <li>Attention: every segment sends its last window−1 keys/values (all of them for full attention); each segment
 * gets those of the tokens before it and runs the block.</li>
 * </ul>
 * Norms, MLPs and the head are local. Only the rows and summaries cross the network, never the streams.
 *
 * <p>Memory: each task's ND4J work runs in a scratch scope ({@link SegmentWork}) and frees its native memory when
 * the segment's step ends; the driver holds per-segment summaries and halos only. What grows with the sequence
 * length is the persisted RDD, which the storage level puts on the executors' heap or disk: choose
 * {@code DISK_ONLY} to keep the heap at a few segments' worth for very long sequences.
 */
public final class SequenceParallelScorer {

  /** What a scoring run leaves: the scored segments (persisted), per-sequence summaries and exchange figures. */
  public record Result(JavaRDD<ScoredSegment> scored, List<SequenceSummary> summaries,
      List<ExchangeStats> exchanges, SegmentLayout layout) {
  }

  private final JavaSparkContext jsc;
  private final ModelBlob blob;
  private final StorageLevel storage;
  private final int topK;
  private final boolean withEmbeddings;

  /**
   * @param topK number of top predicted ids per position (0: none)
   * @param withEmbeddings keep the last hidden state of every position
   */
  public SequenceParallelScorer(JavaSparkContext jsc, ModelBlob blob, StorageLevel storage, int topK,
      boolean withEmbeddings) {
    if (topK < 0) {
      throw new IllegalArgumentException("--top-k: expected 0 or more but found " + topK);
    }
    this.jsc = jsc;
    this.blob = blob;
    this.storage = storage;
    this.topK = topK;
    this.withEmbeddings = withEmbeddings;
  }

  public Result score(JavaRDD<Segment> segments) {
    List<SegmentMeta> metas = segments.map(SegmentMeta::of).collect();
    if (metas.isEmpty()) {
      throw new IllegalArgumentException("input: holds no tokens to score");
    }
    SegmentLayout layout = SegmentLayout.of(metas);
    HybridLm lm = blob.model();
    int vocab = lm.config().paddedVocabSize();
    if (topK > vocab) {
      throw new IllegalArgumentException("--top-k: expected at most the padded vocabulary " + vocab + " but found "
          + topK);
    }
    Broadcast<ModelBlob> model = jsc.broadcast(blob);
    Broadcast<SegmentLayout> where = jsc.broadcast(layout);
    List<ExchangeStats> exchanges = new ArrayList<>();

    JavaRDD<SegmentState> states = segments.map(seg -> SegmentWork.embed(model.value().modelForTask(),
        where.value().ordinal(seg.sequenceId, seg.segmentIndex), seg.sequenceId, seg.startOffset, seg.tokens))
        .persist(storage);

    for (int layer = 0; layer < lm.config().nLayer(); layer++) {
      JavaRDD<SegmentState> next = lm.config().isAttentionLayer(layer)
          ? attentionLayer(states, layer, model, layout, exchanges)
          : mambaLayer(states, layer, model, layout, exchanges);
      states.unpersist(false); // the layer has materialised its result
      states = next;
    }

    final int k = topK;
    final boolean embeddings = withEmbeddings;
    JavaRDD<ScoredSegment> scored = states.map(s -> SegmentWork.head(model.value().modelForTask(), s,
        where.value().nextToken[s.ordinal], k, embeddings)).persist(storage);
    List<long[]> totals = scored.map(s -> new long[] {s.ordinal, s.nll.length,
        Double.doubleToLongBits(s.nllSum())}).collect();
    states.unpersist(false);
    return new Result(scored, summaries(layout, totals), exchanges, layout);
  }

  // ---- Mamba2 layer: conv halo, zero-state part + summary, exclusive scan, correction ---------------------------

  private JavaRDD<SegmentState> mambaLayer(JavaRDD<SegmentState> states, int layer, Broadcast<ModelBlob> model,
      SegmentLayout layout, List<ExchangeStats> exchanges) {
    Mamba2Mixer.Spec spec = blob.model().mixerSpec();
    List<SegmentRows> tails = states.map(s -> SegmentWork.convTail(model.value().modelForTask(), layer, s))
        .collect();
    Matrix[] halos = gather(layout, tails, spec.convKernel() - 1, true)[0];
    Broadcast<Matrix[]> convRows = jsc.broadcast(halos);

    JavaRDD<SegmentState> pending = states.map(s -> SegmentWork.mambaFromZeroState(model.value().modelForTask(),
        layer, s, convRows.value()[s.ordinal])).persist(storage);
    List<SegmentRows> summaries = pending.map(p -> new SegmentRows(p.ordinal, p.alpha, p.e)).collect();
    Matrix[] initial = initialStates(layout, summaries, spec);
    Broadcast<Matrix[]> initialStates = jsc.broadcast(initial);

    JavaRDD<SegmentState> next = pending.map(p -> SegmentWork.mambaFinish(model.value().modelForTask(), layer, p,
        initialStates.value()[p.ordinal])).persist(storage);
    next.count();
    pending.unpersist(false);
    exchanges.add(new ExchangeStats(layer, "mamba2",
        sum(tails) + sum(summaries), bytesDown(halos) + bytesDown(initial)));
    return next;
  }

  /** Each segment's initial SSM state from the exclusive scan of its sequence's summaries (null: zeros). */
  private static Matrix[] initialStates(SegmentLayout layout, List<SegmentRows> summaries, Mamba2Mixer.Spec sp) {
    SegmentRows[] ordered = new SegmentRows[layout.segmentCount()];
    for (SegmentRows r : summaries) {
      ordered[r.ordinal] = r;
    }
    Matrix[] initial = new Matrix[layout.segmentCount()];
    int stateSize = sp.heads() * sp.headDim() * sp.dState();
    for (int s = 0; s < layout.sequenceCount(); s++) {
      List<SegmentSummary> chain = new ArrayList<>();
      for (int g = layout.firstOrdinal[s]; g < layout.firstOrdinal[s + 1]; g++) {
        chain.add(new SegmentSummary(ordered[g].first.toNd4j(1, sp.heads()),
            ordered[g].second.toNd4j(1, sp.heads(), sp.headDim(), sp.dState())));
      }
      List<INDArray> states = SegmentSummary.initialStates(chain, null);
      for (int j = 1; j < states.size(); j++) { // the first segment starts from zeros
        initial[layout.firstOrdinal[s] + j] = Matrix.of(states.get(j), 1, stateSize);
      }
    }
    return initial;
  }

  // ---- attention layer: keys/values of earlier tokens ----------------------------------------------------------

  private JavaRDD<SegmentState> attentionLayer(JavaRDD<SegmentState> states, int layer, Broadcast<ModelBlob> model,
      SegmentLayout layout, List<ExchangeStats> exchanges) {
    int window = blob.model().attentionSpec().windowSize();
    int need = window == 0 ? Integer.MAX_VALUE : window - 1;
    List<SegmentRows> tails = states.map(s -> SegmentWork.attentionTail(model.value().modelForTask(), layer, s,
        need)).collect();
    Matrix[][] past = gather(layout, tails, need, false);
    Broadcast<Matrix[][]> pastKeyValues = jsc.broadcast(past);

    JavaRDD<SegmentState> next = states.map(s -> SegmentWork.attentionBlock(model.value().modelForTask(), layer, s,
        pastKeyValues.value()[0][s.ordinal], pastKeyValues.value()[1][s.ordinal])).persist(storage);
    next.count();
    exchanges.add(new ExchangeStats(layer, window == 0 ? "attention-full" : "attention-window",
        sum(tails), bytesDown(past[0]) + bytesDown(past[1])));
    return next;
  }

  // ---- driver-side helpers -----------------------------------------------------------------------------------------

  /**
   * For every segment, the last {@code want} rows of the earlier segments of its sequence, from their tails
   * (first and second blocks separately): zero-padded to {@code want} at the sequence start if {@code zeroPad}.
   * The first segment of a sequence gets null (the layers' own sequence-start handling).
   */
  private static Matrix[][] gather(SegmentLayout layout, List<SegmentRows> tails, int want, boolean zeroPad) {
    SegmentRows[] byOrdinal = new SegmentRows[layout.segmentCount()];
    for (SegmentRows r : tails) {
      byOrdinal[r.ordinal] = r;
    }
    Matrix[][] out = new Matrix[2][layout.segmentCount()];
    for (int s = 0; s < layout.sequenceCount(); s++) {
      int first = layout.firstOrdinal[s];
      for (int g = first + 1; g < layout.firstOrdinal[s + 1]; g++) {
        for (int part = 0; part < 2; part++) {
          List<Matrix> before = new ArrayList<>();
          long rows = 0;
          for (int j = g - 1; j >= first && rows < want; j--) { // walk back until enough rows
            Matrix m = part == 0 ? byOrdinal[j].first : byOrdinal[j].second;
            if (m != null) {
              before.add(0, m);
              rows += m.rows;
            }
          }
          out[part][g] = Matrix.lastRows(before, want, zeroPad);
        }
      }
    }
    return out;
  }

  private static long sum(List<SegmentRows> rows) {
    long b = 0;
    for (SegmentRows r : rows) {
      b += r.bytes();
    }
    return b;
  }

  private static long bytesDown(Matrix[] perSegment) {
    return Arrays.stream(perSegment).mapToLong(m -> m == null ? 0 : m.bytes()).sum();
  }

  private static List<SequenceSummary> summaries(SegmentLayout layout, List<long[]> totals) {
    long[] positions = new long[layout.sequenceCount()];
    double[][] sums = new double[layout.sequenceCount()][];
    for (int s = 0; s < layout.sequenceCount(); s++) {
      sums[s] = new double[layout.firstOrdinal[s + 1] - layout.firstOrdinal[s]];
    }
    for (long[] t : totals) {
      int g = (int) t[0];
      int s = layout.sequenceOf(g);
      positions[s] += t[1];
      sums[s][g - layout.firstOrdinal[s]] = Double.longBitsToDouble(t[2]);
    }
    List<SequenceSummary> out = new ArrayList<>();
    for (int s = 0; s < layout.sequenceCount(); s++) {
      double total = 0;
      for (double v : sums[s]) { // in segment order
        total += v;
      }
      out.add(new SequenceSummary(layout.sequenceIds[s], layout.sequenceLengths[s], positions[s], total));
    }
    return out;
  }
}
