package io.ssmspark.jobs.train;

import java.io.Serializable;

/** Shard {@code shard}'s parameters on their way from its reducer to a training task. */
public final class ParameterSlice implements Serializable {
    private static final long serialVersionUID = 1L;
    public int shard;
    public FlatValues values;

    public ParameterSlice() {}

    ParameterSlice(int shard, FlatValues values) {
        this.shard = shard;
        this.values = values;
    }
}
