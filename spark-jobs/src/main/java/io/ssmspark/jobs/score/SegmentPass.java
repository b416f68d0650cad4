package io.ssmspark.jobs.score;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.data.Segment;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mixer;
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

    /**
     * What later segments read of this one under layer {@code layer}: the mixer's halo of the segment's last
     * min(haloRows, T) tokens (Mamba2: pre-conv rows; attention: keys and values), no blocks when none are read.
     */
    SegmentRows tail(int layer) {
        Mixer mixer = m.mixer(layer);
        int keep = Math.min(mixer.haloRows(), length());
        if (keep == 0) {
            return new SegmentRows(ordinal, null, null);
        }
        return Scratch.call(() -> {
            INDArray x =
                    m.normed(layer, lastRows(keep)).reshape(1, keep, m.config().dModel());
            INDArray[] blocks = mixer.halo(x, segment.startOffset + length() - keep);
            return new SegmentRows(ordinal, matrix(blocks, 0), matrix(blocks, 1));
        });
    }

    /**
     * Block {@code layer} over the segment (DESIGN.md, "State passing across segments"): the mixer runs from a zero
     * state after {@code halo}, the earlier tokens' tails laid end to end (null: the sequence start); when it carries
     * a state, {@code exchange} takes the segment's summary (Mamba2: α [1, H], E [1, H·P·N]) and returns its true
     * initial state [1, n] (null: zeros); then the mixer and the block finish. The zero-state part never leaves the
     * task.
     */
    void layer(int layer, SegmentRows halo, Function<SegmentRows, Matrix> exchange) {
        int t = length();
        try (Scratch step = Scratch.openStep()) {
            writeNextStream(m.block(
                    layer,
                    stream,
                    new long[] {1, t, m.config().dModel()},
                    (i, mixer, x) -> {
                        Mixer.Segment part =
                                mixer.fromZeroState(x, segment.startOffset, halo == null ? null : nd4j(halo));
                        INDArray initial = null;
                        if (mixer.carriesState()) {
                            INDArray[] summary = part.summary();
                            Matrix s = exchange.apply(new SegmentRows(ordinal, matrix(summary, 0), matrix(summary, 1)));
                            initial = s == null ? null : s.toNd4j(s.rows, s.cols);
                        }
                        return new Mixer.Result(mixer.finish(part, initial), null);
                    },
                    null));
        }
    }

    /** Block {@code i} of {@code blocks} [rows, cols] as a plain matrix (null when absent). */
    private static Matrix matrix(INDArray[] blocks, int i) {
        if (blocks == null || blocks.length <= i || blocks[i] == null) {
            return null;
        }
        return Matrix.of(blocks[i], (int) blocks[i].size(0), (int) blocks[i].size(1));
    }

    /** The blocks of a message as [rows, cols] arrays. */
    private static INDArray[] nd4j(SegmentRows rows) {
        return new INDArray[] {
            rows.first.toNd4j(rows.first.rows, rows.first.cols),
            rows.second == null ? null : rows.second.toNd4j(rows.second.rows, rows.second.cols)
        };
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
            INDArray normed = m.finalNormed(
                    n == t ? stream : stream.get(interval(0, n), all()).dup('c'));
            INDArray logits = m.head(normed);
            out.nll = CrossEntropy.forward(logits, out.targets, null)
                    .rowLoss()
                    .castTo(DataType.DOUBLE)
                    .toDoubleVector();
            if (withEmbeddings) {
                out.embeddings = normed.castTo(DataType.FLOAT)
                        .dup('c')
                        .reshape((long) n * d)
                        .toFloatVector();
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
