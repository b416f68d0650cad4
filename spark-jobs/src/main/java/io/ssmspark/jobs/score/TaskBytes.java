package io.ssmspark.jobs.score;

import java.io.Serializable;

/**
 * The value bytes one scoring task exchanged, per layer: in all, sent up (its tails and summaries) and received
 * (its halos and initial states), and the most it sent or received in one round. A plain class, not a record: Kryo
 * 4's field serializers cannot write records.
 */
public final class TaskBytes implements Serializable {
    private static final long serialVersionUID = 1L;

    public long[] up;
    public long[] down;
    public long[] maxRoundUp;
    public long[] maxRoundDown;

    public TaskBytes() {}

    TaskBytes(int layers) {
        up = new long[layers];
        down = new long[layers];
        maxRoundUp = new long[layers];
        maxRoundDown = new long[layers];
    }

    /** One round of {@code layer}: {@code sent} bytes up, {@code received} down. */
    void round(int layer, long sent, long received) {
        up[layer] += sent;
        down[layer] += received;
        maxRoundUp[layer] = Math.max(maxRoundUp[layer], sent);
        maxRoundDown[layer] = Math.max(maxRoundDown[layer], received);
    }

    long totalUp() {
        long s = 0;
        for (long b : up) {
            s += b;
        }
        return s;
    }

    long totalDown() {
        long s = 0;
        for (long b : down) {
            s += b;
        }
        return s;
    }
}
