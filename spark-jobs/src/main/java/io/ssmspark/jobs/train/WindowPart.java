package io.ssmspark.jobs.train;

import java.io.Serializable;

/** One part of training window {@code rank} in a sequence-parallel pass: its inputs and the target after them. */
public final class WindowPart implements Serializable {
    private static final long serialVersionUID = 1L;
    public long rank;
    public int[] tokens;

    public WindowPart() {}

    WindowPart(long rank, int[] tokens) {
        this.rank = rank;
        this.tokens = tokens;
    }
}
