package io.ssmspark.jobs.score;

import java.io.Serializable;

/**
 * One segment between layers: its place, its tokens, and the stream (hidden + residual, [T, d]) entering the
 * next layer. While a Mamba2 layer waits for its initial SSM state the segment also holds the mixer's zero-state
 * part: y0 [T, H·P], z [T, d_inner], dt [T, H], C [T, G·N], and its summary α [1, H], E [1, H·P·N].
 */
public final class SegmentState implements Serializable {
  private static final long serialVersionUID = 1L;

  public String sequenceId;
  public int ordinal;
  public long start;
  public int[] tokens;
  public Matrix stream;

  public Matrix y0;
  public Matrix z;
  public Matrix dt;
  public Matrix c;
  public Matrix alpha;
  public Matrix e;

  public SegmentState() {}

  public int length() {
    return tokens.length;
  }

  /** A copy with a new stream and no pending mixer part. */
  public SegmentState withStream(Matrix next) {
    SegmentState s = new SegmentState();
    s.sequenceId = sequenceId;
    s.ordinal = ordinal;
    s.start = start;
    s.tokens = tokens;
    s.stream = next;
    return s;
  }
}
