package io.ssmspark.jobs.train;

import java.io.Serializable;

/**
 * The flat parameter vector of {@code length} entries cut into {@code shards} contiguous shards, shard k holding
 * [⌊k·length/shards⌋, ⌊(k+1)·length/shards⌋): the unit of the sharded gradient reduce and of the optimizer state
 * each reducer keeps.
 */
record ShardLayout(long length, int shards) implements Serializable {
    ShardLayout {
        if (shards < 1 || shards > length) {
            throw new IllegalArgumentException("--reduce-shards " + shards + ": expected 1 to " + length
                    + " shards (one parameter each at most) for a model of " + length + " parameters");
        }
    }

    long start(int shard) {
        return shard * length / shards;
    }

    long end(int shard) {
        return start(shard + 1);
    }

    int size(int shard) {
        return (int) (end(shard) - start(shard));
    }
}
