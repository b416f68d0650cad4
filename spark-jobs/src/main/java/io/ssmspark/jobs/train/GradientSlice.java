package io.ssmspark.jobs.train;

import java.io.Serializable;

/**
 * What a training task sends a reducer for one accumulation round: its packed gradient sum's entries of the
 * reducer's shard, or (to reducer 0, {@code sum} null) the round's {@link PartitionResult} without its gradient.
 */
public final class GradientSlice implements Serializable {
    private static final long serialVersionUID = 1L;
    public int round;
    public int partition;
    public PackedSum sum;
    public PartitionResult summary;

    public GradientSlice() {}

    static GradientSlice of(int round, int partition, PackedSum sum) {
        GradientSlice s = new GradientSlice();
        s.round = round;
        s.partition = partition;
        s.sum = sum;
        return s;
    }

    static GradientSlice summary(int round, PartitionResult summary) {
        GradientSlice s = new GradientSlice();
        s.round = round;
        s.partition = summary.partition;
        s.summary = summary;
        return s;
    }
}
