package io.ssmspark.jobs.score;

/**
 * Bytes that crossed between segments for one layer: the rows and summaries sent up to the driver, and the halos
 * and initial states sent back, each segment's own entry counted once (Spark broadcasts the whole table, once per
 * executor).
 */
public record ExchangeStats(int layer, String kind, long bytesUp, long bytesDown) {
  public long total() {
    return bytesUp + bytesDown;
  }
}
