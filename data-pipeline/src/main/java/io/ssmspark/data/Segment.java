package io.ssmspark.data;

import java.io.Serializable;

/**
 * A contiguous piece of one long sequence, for sequence-parallel scoring: tokens {@code
 * [startOffset, startOffset + tokens.length)} of {@code sequenceId}, segment {@code segmentIndex} of
 * {@code segmentCount}, the sequence being {@code sequenceLength} tokens long.
 */
public final class Segment implements Serializable {
    private static final long serialVersionUID = 1L;

    public String sequenceId;
    public int segmentIndex;
    public int segmentCount;
    public long startOffset;
    public long sequenceLength;
    public int[] tokens;

    public Segment() {}

    public Segment(
            String sequenceId,
            int segmentIndex,
            int segmentCount,
            long startOffset,
            long sequenceLength,
            int[] tokens) {
        this.sequenceId = sequenceId;
        this.segmentIndex = segmentIndex;
        this.segmentCount = segmentCount;
        this.startOffset = startOffset;
        this.sequenceLength = sequenceLength;
        this.tokens = tokens;
    }

    @Override
    public String toString() {
        return sequenceId + "#" + segmentIndex + "/" + segmentCount + "@" + startOffset + "+" + tokens.length;
    }
}
