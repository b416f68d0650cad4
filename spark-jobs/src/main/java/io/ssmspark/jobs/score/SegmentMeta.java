package io.ssmspark.jobs.score;

import io.ssmspark.data.Segment;
import java.io.Serializable;

/** What the driver learns about each segment before scoring: where it sits, its first token and its tokens' CRC. */
public final class SegmentMeta implements Serializable {
    private static final long serialVersionUID = 1L;

    public String sequenceId;
    public int segmentIndex;
    public int segmentCount;
    public long startOffset;
    public long sequenceLength;
    public int length;
    public int firstToken;
    /** CRC-32C of the segment's tokens: a resumed run must score the same tokens ({@link CommitLog}). */
    public long tokensCrc;

    public SegmentMeta() {}

    public static SegmentMeta of(Segment s) {
        SegmentMeta m = new SegmentMeta();
        m.sequenceId = s.sequenceId;
        m.segmentIndex = s.segmentIndex;
        m.segmentCount = s.segmentCount;
        m.startOffset = s.startOffset;
        m.sequenceLength = s.sequenceLength;
        m.length = s.tokens.length;
        m.firstToken = s.tokens.length > 0 ? s.tokens[0] : -1;
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * s.tokens.length);
        bytes.asIntBuffer().put(s.tokens);
        crc.update(bytes.array());
        m.tokensCrc = crc.getValue();
        return m;
    }
}
