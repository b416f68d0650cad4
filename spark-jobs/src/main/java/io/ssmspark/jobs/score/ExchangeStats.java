package io.ssmspark.jobs.score;

/**
 * Bytes that crossed between segments for one layer over a whole scoring run: the values every segment shared
 * (conv rows, summaries, keys and values) sent up to the driver's exchange, and what the exchange sent back down:
 * every task of a wave receives every message of the wave, so down = up × tasks.
 */
public record ExchangeStats(int layer, String kind, long bytesUp, long bytesDown) {
    public long total() {
        return bytesUp + bytesDown;
    }
}
