package io.ssmspark.data;

import java.io.Serializable;

/**
 * One training window: {@code seq_len + 1} consecutive tokens of the concatenated stream (inputs
 * are tokens[0..seq_len-1], targets tokens[1..seq_len]). {@code index} is its place in the stream
 * (it starts at {@code index * stride}); {@code rank} its place in this epoch's shuffled order.
 * {@code answers} flags the tokens that are answers, when the source knows them (else null).
 */
public final class Window implements Serializable {
    private static final long serialVersionUID = 1L;

    public long index;
    public long rank;
    public int[] tokens;
    public boolean[] answers;

    public Window() {}

    public Window(long index, long rank, int[] tokens) {
        this(index, rank, tokens, null);
    }

    public Window(long index, long rank, int[] tokens, boolean[] answers) {
        this.index = index;
        this.rank = rank;
        this.tokens = tokens;
        this.answers = answers;
    }
}
