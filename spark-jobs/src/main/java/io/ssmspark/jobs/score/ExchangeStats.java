package io.ssmspark.jobs.score;

/**
 * Value bytes that crossed between segments for one layer over a whole scoring run: what the segments sent up to
 * the driver's exchange (their tails: conv rows, keys and values; their summaries), and what it sent back down
 * (each segment's halo and initial state, {@link WaveFold}).
 */
public record ExchangeStats(int layer, String kind, long bytesUp, long bytesDown) {
    public long total() {
        return bytesUp + bytesDown;
    }
}
