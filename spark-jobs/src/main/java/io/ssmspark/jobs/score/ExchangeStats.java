package io.ssmspark.jobs.score;

/**
 * Value bytes that crossed between segments for one layer over a whole scoring run: what the segments sent up to
 * the driver's exchange (their tails: conv rows, keys and values; their summaries), and what it sent back down
 * (each segment's halo and initial state, {@link WaveFold}); and the most one task sent and received in one round
 * of the layer, which does not grow with the number of tasks (except where a halo spans several segments: full
 * attention, or a window longer than a segment).
 */
public record ExchangeStats(
        int layer, String kind, long bytesUp, long bytesDown, long maxTaskRoundBytesUp, long maxTaskRoundBytesDown) {
    public long total() {
        return bytesUp + bytesDown;
    }
}
