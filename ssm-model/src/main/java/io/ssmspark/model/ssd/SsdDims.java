package io.ssmspark.model.ssd;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * The sizes of one SSD problem: batch, sequence length T, heads H, head dimension P, groups G (B and
 * C are shared by the H/G heads of a group), state dimension N, and whether D is per channel (H·P
 * entries) rather than per head.
 */
public record SsdDims(
        int batch, int seqLen, int heads, int headDim, int groups, int dState, boolean dPerChannel, DataType dtype) {

    /** Heads that share one group's B and C. */
    public int headsPerGroup() {
        return heads / groups;
    }

    /** The group of head h: g(h) = h / (H / G). */
    public int groupOf(int head) {
        return head / headsPerGroup();
    }

    /** Shape of the state S: (batch, H, P, N). */
    public long[] stateShape() {
        return new long[] {batch, heads, headDim, dState};
    }
}
