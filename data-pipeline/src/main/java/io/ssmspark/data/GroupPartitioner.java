package io.ssmspark.data;

import org.apache.spark.Partitioner;

/** Sends a {@link FragmentKey} to partition {@code group mod partitions}. */
public final class GroupPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;

    private final int partitions;

    public GroupPartitioner(int partitions) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1, found " + partitions);
        }
        this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
        return partitions;
    }

    @Override
    public int getPartition(Object key) {
        return (int) Math.floorMod(((FragmentKey) key).group, (long) partitions);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GroupPartitioner && ((GroupPartitioner) o).partitions == partitions;
    }

    @Override
    public int hashCode() {
        return partitions;
    }
}
