package io.ssmspark.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Long sequences cut into ordered segments for sequence-parallel scoring.
 *
 * <p>A sequence of length n becomes {@code ceil(n / L)} segments of L tokens, the last one shorter
 * (a sequence shorter than L stays whole). L need not be a multiple of the model's chunk length.
 * Sequences are numbered in ordinal (input) order and their segments numbered globally, g = (segments
 * of earlier sequences) + segment index; segment g goes to partition {@code g mod P}. So one
 * sequence's consecutive segments sit on consecutive (different, while it has at most P segments)
 * partitions, partitions differ by at most one segment, and each partition is ordered by (sequence,
 * segment index). The layout depends only on the sequences, L and P.
 */
public final class Segments {
    private final JavaRDD<Segment> segments;
    private final long sequences;
    private final long tokens;
    private final long segmentCount;

    private Segments(JavaRDD<Segment> segments, long sequences, long tokens, long segmentCount) {
        this.segments = segments;
        this.sequences = sequences;
        this.tokens = tokens;
        this.segmentCount = segmentCount;
    }

    public JavaRDD<Segment> segments() {
        return segments;
    }

    public long sequenceCount() {
        return sequences;
    }

    public long tokenCount() {
        return tokens;
    }

    public long segmentCount() {
        return segmentCount;
    }

    /** Each sequence's length and first global segment number; broadcast to the tasks. */
    public static final class Layout implements Serializable {
        private static final long serialVersionUID = 1L;

        public long[] ordinals;
        public long[] lengths;
        public long[] firstSegment;
        public int segmentLength;

        public Layout() {}
    }

    /** Cuts {@code data} into segments of {@code segmentLength} tokens over {@code partitions} (0: default). */
    public static Segments cut(SourceData data, int segmentLength, int partitions) {
        if (segmentLength < 1) {
            throw new IllegalArgumentException("segment length must be >= 1, found " + segmentLength);
        }
        if (partitions < 0) {
            throw new IllegalArgumentException("partitions must be >= 0, found " + partitions);
        }
        DocumentTable table = data.documents();
        Layout layout = new Layout();
        layout.ordinals = table.ordinals;
        layout.lengths = table.lengths;
        layout.firstSegment = new long[table.size()];
        layout.segmentLength = segmentLength;
        long total = 0;
        for (int d = 0; d < table.size(); d++) {
            layout.firstSegment[d] = total;
            long count = (table.lengths[d] + segmentLength - 1) / segmentLength;
            if (count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("sequence with ordinal " + table.ordinals[d] + " would have " + count
                        + " segments of length " + segmentLength + "; use a longer segment length");
            }
            total += count;
        }
        int p = partitions > 0 ? partitions : data.sparkContext().defaultParallelism();
        Broadcast<Layout> shared = data.sparkContext().broadcast(layout);
        JavaRDD<Segment> rdd = data.chunks()
                .flatMapToPair(c -> fragments(c, shared.value()))
                .repartitionAndSortWithinPartitions(new GroupPartitioner(p))
                .mapPartitions(it -> new FragmentAssembler<Segment>(it) {
                    @Override
                    protected int recordLength(FragmentKey first) {
                        Layout l = shared.value();
                        int d = (int) first.tag;
                        long k = first.group - l.firstSegment[d];
                        return (int) Math.min(l.segmentLength, l.lengths[d] - k * l.segmentLength);
                    }

                    @Override
                    protected Segment record(FragmentKey first, String sequenceId, int[] tokens, boolean[] answers) {
                        Layout l = shared.value();
                        int d = (int) first.tag;
                        int k = (int) (first.group - l.firstSegment[d]);
                        int count = (int) ((l.lengths[d] + l.segmentLength - 1) / l.segmentLength);
                        return new Segment(sequenceId, k, count, (long) k * l.segmentLength, l.lengths[d], tokens);
                    }
                });
        return new Segments(rdd, table.size(), table.totalTokens(), total);
    }

    /** The pieces of chunk {@code c} for every segment that overlaps it; the tag is the sequence's index. */
    static Iterator<Tuple2<FragmentKey, Fragment>> fragments(TokenChunk c, Layout layout) {
        int d = Arrays.binarySearch(layout.ordinals, c.ordinal);
        if (d < 0) {
            throw new IllegalStateException(
                    "chunk of " + c.sequenceId + " (ordinal " + c.ordinal + ") is not in the document table");
        }
        long len = layout.segmentLength;
        long end = c.start + c.tokens.length;
        List<Tuple2<FragmentKey, Fragment>> out = new ArrayList<>();
        for (long k = c.start / len; k * len < end; k++) {
            long a = Math.max(c.start, k * len);
            long b = Math.min(end, (k + 1) * len);
            out.add(new Tuple2<>(
                    new FragmentKey(layout.firstSegment[d] + k, a - k * len, d),
                    new Fragment(
                            c.sequenceId, Arrays.copyOfRange(c.tokens, (int) (a - c.start), (int) (b - c.start)))));
        }
        return out.iterator();
    }
}
