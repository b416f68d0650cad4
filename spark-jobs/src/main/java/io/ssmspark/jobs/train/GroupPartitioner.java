package io.ssmspark.jobs.train;

import org.apache.spark.Partitioner;

/**
 * Places micro-batch group g (the windows of ranks [g·M, (g+1)·M)) on partition g mod P, so every group is whole
 * on one partition and its composition, hence its gradient, does not depend on P.
 */
final class GroupPartitioner extends Partitioner {
  private static final long serialVersionUID = 1L;
  private final int partitions;

  GroupPartitioner(int partitions) {
    this.partitions = partitions;
  }

  @Override
  public int numPartitions() {
    return partitions;
  }

  @Override
  public int getPartition(Object key) {
    return (int) Math.floorMod((Long) key, (long) partitions);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof GroupPartitioner g && g.partitions == partitions;
  }

  @Override
  public int hashCode() {
    return partitions;
  }
}
