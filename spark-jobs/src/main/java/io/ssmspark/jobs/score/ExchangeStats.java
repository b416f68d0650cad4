package io.ssmspark.jobs.score;

/**
 * Bytes that crossed between segments for one layer: rows and summaries sent up to the driver, and the halos and
 * initial states sent back (counted once per receiving segment).
 */
public record ExchangeStats(int layer, String kind, long bytesUp, long bytesDown) {
  public long total() {
    return bytesUp + bytesDown;
  }
}
