package io.ssmspark.jobs.score;

import java.io.Serializable;

/** Rows one segment hands to later segments: its ordinal and up to two blocks (conv rows; or keys and values). */
public final class SegmentRows implements Serializable {
  private static final long serialVersionUID = 1L;

  public int ordinal;
  public Matrix first;
  public Matrix second;

  public SegmentRows() {}

  public SegmentRows(int ordinal, Matrix first, Matrix second) {
    this.ordinal = ordinal;
    this.first = first;
    this.second = second;
  }

  long bytes() {
    return (first == null ? 0 : first.bytes()) + (second == null ? 0 : second.bytes());
  }
}
