package io.ssmspark.model.lm;

import io.ssmspark.model.mixer.AttentionMixer;
import io.ssmspark.model.mixer.Mamba2Mixer;
import io.ssmspark.model.mixer.Mixer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link HybridLm} forward hands to the next window of the same sequences, so that scoring window by
 * window gives exactly the whole-sequence result (DESIGN.md, "State passing across segments"):
 * <ul>
 * <li>{@code position}: tokens already consumed (the rotary position of the next token);</li>
 * <li>per layer, its mixer's {@link Mixer.Carry}: for Mamba2 the last K−1 pre-conv rows and the SSM state; for
 * attention the rotated past keys and values [batch, Tpast, Hkv, hd], all of them for full attention, the last
 * window−1 for sliding-window attention (null when none are needed).</li>
 * </ul>
 * Immutable.
 */
public final class LmState {
    private final long position;
    private final Mixer.Carry[] carries;

    LmState(long position, Mixer.Carry[] carries) {
        this.position = position;
        this.carries = carries.clone();
    }

    /** Tokens consumed so far: the position of the next token. */
    public long position() {
        return position;
    }

    /** Layer {@code layer}'s mixer carry (null: the sequence start). */
    public Mixer.Carry carry(int layer) {
        return carries[layer];
    }

    /** The carry of Mamba2 layer {@code layer} (null for an attention layer). */
    public Mamba2Mixer.Carry mixerCarry(int layer) {
        return carries[layer] instanceof Mamba2Mixer.Carry c ? c : null;
    }

    /** The past keys of attention layer {@code layer} (null when there are none or it is a Mamba2 layer). */
    public INDArray pastKey(int layer) {
        return carries[layer] instanceof AttentionMixer.KeyValues kv ? kv.keys() : null;
    }

    /** The past values of attention layer {@code layer}, like {@link #pastKey}. */
    public INDArray pastValue(int layer) {
        return carries[layer] instanceof AttentionMixer.KeyValues kv ? kv.values() : null;
    }

    public int layers() {
        return carries.length;
    }

    /**
     * Frees the state's arrays at once (full attention's past keys and values grow with the position). Only for a
     * state that owns its arrays (as {@link LayerwiseWindow} makes them); it must not be used afterwards.
     */
    void free() {
        for (Mixer.Carry c : carries) {
            if (c != null) {
                c.free();
            }
        }
    }
}
