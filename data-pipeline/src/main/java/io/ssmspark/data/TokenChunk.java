package io.ssmspark.data;

import java.io.Serializable;

/**
 * A contiguous run of one sequence's tokens: {@code tokens} are positions {@code start ..
 * start + tokens.length - 1} of sequence {@code sequenceId}. Sources emit sequences as chunks of
 * bounded length so no record ever needs a whole long sequence in memory.
 *
 * <p>{@code ordinal} orders sequences deterministically, whatever the partitioning: for files it is
 * {@code fileIndex << 40 | byte offset of the record}, for synthetic corpora the document index.
 * {@code last} marks the chunk that ends the sequence. {@code answers}, when the source knows them
 * (synthetic tasks), flags each token that is an answer; otherwise it is null.
 */
public final class TokenChunk implements Serializable {
    private static final long serialVersionUID = 1L;

    public String sequenceId;
    public long ordinal;
    public long start;
    public int[] tokens;
    public boolean last;
    public boolean[] answers;

    public TokenChunk() {}

    public TokenChunk(String sequenceId, long ordinal, long start, int[] tokens, boolean last) {
        this.sequenceId = sequenceId;
        this.ordinal = ordinal;
        this.start = start;
        this.tokens = tokens;
        this.last = last;
    }

    /** This chunk with answer flags, one per token. */
    public TokenChunk withAnswers(boolean[] flags) {
        if (flags.length != tokens.length) {
            throw new IllegalArgumentException(sequenceId + " at " + start + ": " + flags.length + " answer flags for "
                    + tokens.length + " tokens");
        }
        answers = flags;
        return this;
    }

    /** True for the single empty chunk that stands for an empty record. */
    public boolean isEmptyRecord() {
        return start == 0 && last && tokens.length == 0;
    }
}
