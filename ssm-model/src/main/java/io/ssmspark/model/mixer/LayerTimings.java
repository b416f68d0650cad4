package io.ssmspark.model.mixer;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Wall-clock seconds a {@link HybridLm} spends per kind of layer, forward and backward, accumulated over calls
 * while attached with {@link HybridLm#setTimings}. ND4J's CPU ops are synchronous, so a span measured around
 * them is the time they take. Threads running the model at once (micro-batches on several threads) add into the
 * same totals, so with K threads a part's seconds are thread-seconds, up to K times the wall time.
 */
public final class LayerTimings {

    /** Where the time goes. {@link #MAMBA_MIXER} includes its {@link #SSD} part. */
    public enum Part {
        /** Token embedding, norm_f, LM head and the cross-entropy. */
        EMBEDDING_HEAD,
        /** norm and norm2 of every block, and the residual adds. */
        NORMS,
        /** The whole Mamba2 and Mamba1 mixers (projections, conv, gate and the state-space kernel). */
        MAMBA_MIXER,
        /** The state-space kernel inside them: the chunked SSD (Mamba2), the chunked selective scan (Mamba1). */
        SSD,
        /** The attention blocks. */
        ATTENTION,
        /** The gated MLPs. */
        MLP,
        /** The whole S4D mixers (kernel, FFT convolution, state passing, output projection). */
        S4D_MIXER
    }

    private final AtomicLongArray forwardNanos = new AtomicLongArray(Part.values().length);
    private final AtomicLongArray backwardNanos = new AtomicLongArray(Part.values().length);

    /** Adds the time since {@code startNanos} (a {@link System#nanoTime}) to a part; returns the time now. */
    public long addForward(Part part, long startNanos) {
        long now = System.nanoTime();
        forwardNanos.addAndGet(part.ordinal(), now - startNanos);
        return now;
    }

    /** Like {@link #addForward}, for the backward. */
    public long addBackward(Part part, long startNanos) {
        long now = System.nanoTime();
        backwardNanos.addAndGet(part.ordinal(), now - startNanos);
        return now;
    }

    public double forwardSeconds(Part part) {
        return forwardNanos.get(part.ordinal()) / 1e9;
    }

    public double backwardSeconds(Part part) {
        return backwardNanos.get(part.ordinal()) / 1e9;
    }

    /** Sets every total back to 0. */
    public void reset() {
        for (int i = 0; i < forwardNanos.length(); i++) {
            forwardNanos.set(i, 0);
            backwardNanos.set(i, 0);
        }
    }
}
