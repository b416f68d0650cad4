package io.ssmspark.jobs.score;

import java.io.Serializable;

/**
 * What a scoring task yields, once, at its end (its scored segments went to its files, {@link ScoredParts}): the
 * wave its stage attempt started from, the seconds it waited in the exchange's rounds and the value bytes it
 * exchanged ({@link TaskBytes}). A plain class, not a record: Kryo 4's field serializers cannot write records.
 */
public final class WaveOutput implements Serializable {
    private static final long serialVersionUID = 2L;

    public int task;
    public TaskBytes bytes;
    public long exchangeNanos;
    public int startWave;

    public WaveOutput() {}

    static WaveOutput exchanged(int task, TaskBytes bytes, long exchangeNanos, int startWave) {
        WaveOutput o = new WaveOutput();
        o.task = task;
        o.bytes = bytes;
        o.exchangeNanos = exchangeNanos;
        o.startWave = startWave;
        return o;
    }
}
