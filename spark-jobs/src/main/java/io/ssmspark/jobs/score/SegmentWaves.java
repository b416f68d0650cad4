package io.ssmspark.jobs.score;

import org.apache.spark.Partitioner;

/**
 * Which task scores which segment. The segments, numbered in sequence order (their ordinals), go round-robin to
 * {@code width} tasks that run together: task j scores ordinals j, j + width, j + 2·width, ... Wave k is the
 * ordinals [k·width, (k+1)·width): one segment per task, all in flight at once, each later one reading the
 * earlier ones' rows and summaries. Also the partitioner that sends each segment, keyed by ordinal, to its task
 * (and the tasks' results on after them).
 */
final class SegmentWaves extends Partitioner {
    private static final long serialVersionUID = 1L;

    final int width;
    final int segments;

    SegmentWaves(int width, int segments) {
        if (width < 1 || segments < 1) {
            throw new IllegalArgumentException("segment waves: expected at least 1 task and 1 segment but found "
                    + width + " tasks and " + segments + " segments");
        }
        this.width = width;
        this.segments = segments;
    }

    int waves() {
        return (segments + width - 1) / width;
    }

    /** The first ordinal of wave k. */
    int firstOf(int wave) {
        return wave * width;
    }

    /** One past the last ordinal of wave k. */
    int endOf(int wave) {
        return Math.min(segments, (wave + 1) * width);
    }

    /** The ordinal task {@code task} scores in wave k, or −1 when it has none (the last wave may be short). */
    int ordinal(int wave, int task) {
        int g = firstOf(wave) + task;
        return g < segments ? g : -1;
    }

    @Override
    public int numPartitions() {
        return width;
    }

    @Override
    public int getPartition(Object ordinal) {
        return Math.floorMod((Integer) ordinal, width); // negative keys: the tasks' own records
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SegmentWaves w && w.width == width && w.segments == segments;
    }

    @Override
    public int hashCode() {
        return 31 * width + segments;
    }
}
