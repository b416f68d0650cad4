package io.ssmspark.jobs.train;

import java.io.Serializable;

/**
 * One shard of the training state as its reducer keeps it between steps (ZeRO-1): the shard's parameters and
 * AdamW moments m and v, and the number of updates applied.
 */
public final class OptimizerShard implements Serializable {
    private static final long serialVersionUID = 1L;
    public int shard;
    public long updates;
    public FlatValues parameters;
    public FlatValues m;
    public FlatValues v;

    public OptimizerShard() {}

    OptimizerShard(int shard, long updates, FlatValues parameters, FlatValues m, FlatValues v) {
        this.shard = shard;
        this.updates = updates;
        this.parameters = parameters;
        this.m = m;
        this.v = v;
    }
}
