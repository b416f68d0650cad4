package io.ssmspark.jobs.train;

import java.io.Serializable;

/**
 * What one task returns: its partition index, the number of windows and loss tokens it saw, the double-double
 * sum of their NLL, and (for a training pass) the packed double-double sum of their gradients, plus its compute
 * time. An evaluation pass over windows with answer flags also counts the answers and those predicted right. The gradient is the only large part: 12 bytes per parameter ({@link PackedSum}).
 */
public final class PartitionResult implements Serializable {
    private static final long serialVersionUID = 3L;
    public int partition;
    public long windows;
    public long tokens;
    public ScalarSum loss = new ScalarSum();
    public PackedSum gradient;
    public long computeNanos;
    public long answers;
    public long answersCorrect;
    /** Sequence-parallel passes only: bytes this task sent to and got from the part exchange, and its time there. */
    public long exchangeBytesUp;

    public long exchangeBytesDown;
    public long exchangeNanos;

    public PartitionResult() {}

    /** Roughly what the result weighs on the wire. */
    long byteSize() {
        return gradient == null ? 64 : 64 + gradient.byteSize();
    }
}
