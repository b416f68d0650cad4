package io.ssmspark.model.lm;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link HybridLm} forward hands to the next window of the same sequences, so that scoring window by
 * window gives exactly the whole-sequence result (DESIGN.md, "State passing across segments"):
 * <ul>
 * <li>{@code position}: tokens already consumed (the rotary position of the next token);</li>
 * <li>per Mamba2 layer, the mixer's {@link Mamba2Mixer.Carry} (last K−1 pre-conv rows, SSM state);</li>
 * <li>per attention layer, the rotated past keys and values [batch, Tpast, Hkv, hd]: all of them for full
 * attention, the last window−1 for sliding-window attention (null when none are needed).</li>
 * </ul>
 * Immutable; entries of the other kind of layer are null.
 */
public final class LmState {
    private final long position;
    private final Mamba2Mixer.Carry[] mixerCarries;
    private final INDArray[] pastKeys;
    private final INDArray[] pastValues;

    LmState(long position, Mamba2Mixer.Carry[] mixerCarries, INDArray[] pastKeys, INDArray[] pastValues) {
        this.position = position;
        this.mixerCarries = mixerCarries.clone();
        this.pastKeys = pastKeys.clone();
        this.pastValues = pastValues.clone();
    }

    /** Tokens consumed so far: the position of the next token. */
    public long position() {
        return position;
    }

    /** The carry of Mamba2 layer {@code layer} (null for an attention layer). */
    public Mamba2Mixer.Carry mixerCarry(int layer) {
        return mixerCarries[layer];
    }

    /** The past keys of attention layer {@code layer} (null when there are none or it is a Mamba2 layer). */
    public INDArray pastKey(int layer) {
        return pastKeys[layer];
    }

    /** The past values of attention layer {@code layer}, like {@link #pastKey}. */
    public INDArray pastValue(int layer) {
        return pastValues[layer];
    }

    public int layers() {
        return mixerCarries.length;
    }

    /**
     * Frees the state's arrays at once (full attention's past keys and values grow with the position). Only for a
     * state that owns its arrays (as {@link LayerwiseWindow} makes them); it must not be used afterwards.
     */
    void free() {
        for (int i = 0; i < mixerCarries.length; i++) {
            Mamba2Mixer.Carry c = mixerCarries[i];
            if (c != null) {
                close(c.convRows());
                close(c.ssmState());
            }
            close(pastKeys[i]);
            close(pastValues[i]);
        }
    }

    private static void close(INDArray a) {
        if (a != null) {
            a.close();
        }
    }
}
