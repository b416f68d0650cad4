package io.ssmspark.jobs.score;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Every segment's place: sequences sorted by id, each sequence's segments in order, numbered 0..n−1 (the
 * ordinal). Tells each segment the token after it (its last input's target) and the segments before it.
 * Broadcast to the executors (a few plain arrays).
 */
public final class SegmentLayout implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Sorted sequence ids. */
    public String[] sequenceIds;
    /** Per sequence: the ordinal of its first segment; one extra entry holds the total. */
    public int[] firstOrdinal;

    public long[] sequenceLengths;
    /** Per ordinal: the first token of the next segment of the same sequence, or −1 for a last segment. */
    public int[] nextToken;

    public long[] startOffsets;
    public int[] lengths;
    /** CRC-32C over every segment's sequence id, start, length and tokens' CRC, in ordinal order. */
    public long contentDigest;

    public SegmentLayout() {}

    /** Builds the layout from every segment's meta; refuses gaps, overlaps and disagreeing counts. */
    public static SegmentLayout of(List<SegmentMeta> metas) {
        List<SegmentMeta> sorted = new ArrayList<>(metas);
        sorted.sort(Comparator.comparing((SegmentMeta m) -> m.sequenceId).thenComparingInt(m -> m.segmentIndex));
        List<String> ids = new ArrayList<>();
        List<Integer> firsts = new ArrayList<>();
        List<Long> seqLengths = new ArrayList<>();
        SegmentLayout l = new SegmentLayout();
        int n = sorted.size();
        l.nextToken = new int[n];
        l.startOffsets = new long[n];
        l.lengths = new int[n];
        for (int g = 0; g < n; g++) {
            SegmentMeta m = sorted.get(g);
            boolean first = g == 0 || !sorted.get(g - 1).sequenceId.equals(m.sequenceId);
            if (first) {
                ids.add(m.sequenceId);
                firsts.add(g);
                seqLengths.add(m.sequenceLength);
            }
            long expectedStart = first ? 0 : l.startOffsets[g - 1] + l.lengths[g - 1];
            int expectedIndex = g - firsts.get(firsts.size() - 1);
            if (m.segmentIndex != expectedIndex || m.startOffset != expectedStart || m.length < 1) {
                throw new IllegalArgumentException("sequence '" + m.sequenceId + "': segment " + m.segmentIndex
                        + " expected index " + expectedIndex + " starting at token " + expectedStart
                        + " with at least 1 token but found start " + m.startOffset + " and " + m.length + " tokens");
            }
            l.startOffsets[g] = m.startOffset;
            l.lengths[g] = m.length;
            boolean last = m.segmentIndex == m.segmentCount - 1;
            if (last && m.startOffset + m.length != m.sequenceLength) {
                throw new IllegalArgumentException("sequence '" + m.sequenceId + "': its segments cover "
                        + (m.startOffset + m.length) + " tokens but its length is " + m.sequenceLength);
            }
            l.nextToken[g] = last ? -1 : (g + 1 < n ? sorted.get(g + 1).firstToken : -1);
            if (!last && (g + 1 >= n || !sorted.get(g + 1).sequenceId.equals(m.sequenceId))) {
                throw new IllegalArgumentException("sequence '" + m.sequenceId + "': segment " + (m.segmentIndex + 1)
                        + " of " + m.segmentCount + " is missing");
            }
        }
        l.sequenceIds = ids.toArray(new String[0]);
        l.firstOrdinal = new int[ids.size() + 1];
        l.sequenceLengths = new long[ids.size()];
        for (int s = 0; s < ids.size(); s++) {
            l.firstOrdinal[s] = firsts.get(s);
            l.sequenceLengths[s] = seqLengths.get(s);
        }
        l.firstOrdinal[ids.size()] = n;
        java.util.zip.CRC32C digest = new java.util.zip.CRC32C();
        java.nio.ByteBuffer entry = java.nio.ByteBuffer.allocate(24);
        for (SegmentMeta m : sorted) {
            digest.update(m.sequenceId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            entry.clear();
            entry.putLong(m.startOffset).putInt(m.length).putLong(m.tokensCrc).putInt(m.segmentCount);
            digest.update(entry.array());
        }
        l.contentDigest = digest.getValue();
        return l;
    }

    public int segmentCount() {
        return nextToken.length;
    }

    public int sequenceCount() {
        return sequenceIds.length;
    }

    /** The ordinal of a segment. */
    public int ordinal(String sequenceId, int segmentIndex) {
        int s = Arrays.binarySearch(sequenceIds, sequenceId);
        if (s < 0) {
            throw new IllegalArgumentException("sequence '" + sequenceId + "' is not in the segment layout");
        }
        return firstOrdinal[s] + segmentIndex;
    }

    /** The sequence number of an ordinal. */
    public int sequenceOf(int ordinal) {
        int s = Arrays.binarySearch(firstOrdinal, ordinal);
        return s >= 0 ? (s == firstOrdinal.length - 1 ? s - 1 : s) : -s - 2;
    }
}
