package io.ssmspark.model.lm;

import io.ssmspark.model.config.MambaConfig;
import java.io.IOException;
import java.util.Arrays;

/**
 * Scores one long token sequence in bounded memory: the model runs over windows of at most {@code window} input
 * tokens, each continuing the previous one through its {@link LmState} (conv rows, SSM states, attention keys and
 * values), which gives exactly the whole-sequence result. Position i ≥ 1 gets the natural-log NLL of token i given
 * tokens 0..i−1.
 *
 * <p>Full (unwindowed) attention reads every earlier key, so its score matrix grows with the position:
 * heads · T · (position + T) entries for a window of T tokens. The scorer halves its window while that exceeds
 * {@link #MAX_SCORE_ELEMENTS}, which keeps working memory bounded apart from the keys and values themselves.
 *
 * <p>A window runs layer by layer ({@link LayerwiseWindow}), each layer in its own scratch scope: only the stream
 * between layers, the state passed on and the NLLs outlive a layer, so native memory stays at about one layer's
 * working set of one window however long the sequence is.
 */
public final class SequenceScorer {

    /** Reads tokens [start, start + count) of the sequence. */
    public interface TokenSource {
        /** Number of tokens in the sequence. */
        long length();

        int[] read(long start, int count) throws IOException;
    }

    /** Receives the NLL of each position, in order. */
    public interface Sink {
        void accept(long position, double nll) throws IOException;

        /** Called after each window, once its positions are accepted: {@code positions} are scored so far. */
        default void windowScored(long positions) throws IOException {}
    }

    /** Totals over the scored positions: Σ nll and their count (length − 1). */
    public record Summary(long positions, double sum) {
        public double meanNll() {
            return sum / positions;
        }

        public double perplexity() {
            return Math.exp(meanNll());
        }
    }

    /** Bound on the attention score entries of one window (64 Mi: 256 MiB in fp32). */
    public static final long MAX_SCORE_ELEMENTS = 64L << 20;

    private SequenceScorer() {}

    /** Scores positions 1..length−1 of {@code source}; needs at least 2 tokens. */
    public static Summary score(HybridLm model, TokenSource source, int window, Sink sink) throws IOException {
        if (window < 1) {
            throw new IllegalArgumentException("scoring window: expected at least 1 token but found " + window);
        }
        long n = source.length();
        if (n < 2) {
            throw new IllegalArgumentException("sequence: expected at least 2 tokens to score but found " + n);
        }
        LmState state = null;
        double sum = 0;
        // Inputs are tokens 0..n−2; the input at i predicts token i+1.
        for (long start = 0; start < n - 1; ) {
            int count = windowAt(model, start, (int) Math.min(window, n - 1 - start));
            int[] tokens = source.read(start, count + 1);
            LayerwiseWindow.Result w = LayerwiseWindow.score(
                    model, Arrays.copyOfRange(tokens, 0, count), Arrays.copyOfRange(tokens, 1, count + 1), state);
            if (state != null) {
                state.free(); // made by the previous window, read by no one else
            }
            state = w.stateOut();
            double[] nll = w.nll();
            for (int i = 0; i < count; i++) {
                sink.accept(start + i + 1, nll[i]);
                sum += nll[i];
            }
            start += count;
            sink.windowScored(start);
        }
        return new Summary(n - 1, sum);
    }

    /** The number of windows {@link #score} runs over a sequence of {@code length} tokens. */
    public static long windowCount(HybridLm model, long length, int window) {
        long windows = 0;
        for (long start = 0; start < length - 1; windows++) {
            start += windowAt(model, start, (int) Math.min(window, length - 1 - start));
        }
        return windows;
    }

    /** The window length to use at {@code position}: halved while full attention's scores would exceed the bound. */
    static int windowAt(HybridLm model, long position, int count) {
        MambaConfig c = model.config();
        if (c.attnLayerIdx().isEmpty() || c.attn().windowSize() != null) {
            return count;
        }
        int heads = c.attnNumHeads();
        while (count > 1 && (long) heads * count * (position + count) > MAX_SCORE_ELEMENTS) {
            count = (count + 1) / 2;
        }
        return count;
    }
}
