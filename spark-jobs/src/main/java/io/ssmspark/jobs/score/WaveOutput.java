package io.ssmspark.jobs.score;

import java.io.Serializable;

/**
 * What a scoring task yields: a scored segment, or (once, at its end) its exchange figures: the seconds it waited
 * in the exchange's rounds and the value bytes it exchanged ({@link TaskBytes}).
 */
public final class WaveOutput implements Serializable {
    private static final long serialVersionUID = 1L;

    public ScoredSegment scored;
    public int task;
    public TaskBytes bytes;
    public long exchangeNanos;

    public WaveOutput() {}

    static WaveOutput of(ScoredSegment scored) {
        WaveOutput o = new WaveOutput();
        o.scored = scored;
        return o;
    }

    static WaveOutput exchanged(int task, TaskBytes bytes, long exchangeNanos) {
        WaveOutput o = new WaveOutput();
        o.task = task;
        o.bytes = bytes;
        o.exchangeNanos = exchangeNanos;
        return o;
    }

    /** What the driver collects: the segment's totals, or the exchange figures, never the per-position values. */
    Brief brief() {
        if (scored == null) {
            return new Brief(-1, 0, 0, task, bytes, exchangeNanos);
        }
        return new Brief(scored.ordinal, scored.nll.length, scored.nllSum(), task, null, 0);
    }

    /**
     * A segment's scored positions and their NLL sum; or (ordinal −1) task {@code task}'s exchange figures. A plain
     * class, not a record: Kryo 4's field serializers cannot write records.
     */
    public static final class Brief implements Serializable {
        private static final long serialVersionUID = 1L;

        public int ordinal;
        public long positions;
        public double nllSum;
        public int task;
        public TaskBytes bytes;
        public long exchangeNanos;

        public Brief() {}

        Brief(int ordinal, long positions, double nllSum, int task, TaskBytes bytes, long exchangeNanos) {
            this.ordinal = ordinal;
            this.positions = positions;
            this.nllSum = nllSum;
            this.task = task;
            this.bytes = bytes;
            this.exchangeNanos = exchangeNanos;
        }
    }
}
