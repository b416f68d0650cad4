package io.ssmspark.model.lm;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.mixer.Mixer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Recurrent decoding with a {@link HybridLm}: {@link #prefill} runs the chunked forward over a prompt, then each
 * {@link #step} feeds one token per sequence through the model's blocks ({@link HybridLm#blocks}, each mixer's
 * {@link Mixer#step}) and returns the next logits. The per-layer state (a {@link Mixer.Carry}) is
 * <ul>
 * <li>Mamba2 layers: the last K−1 pre-conv rows and the SSM state [batch, H, P, N], updated in place, so a step
 * costs the same whatever the position;</li>
 * <li>attention layers: the rotated keys/values seen so far (a KV cache), bounded to window−1 rows when
 * attn_cfg.window_size is set.</li>
 * </ul>
 * prefill(prefix) then step(...) over the rest gives the logits the full forward gives at the same positions.
 * Not thread-safe; one decoder per set of sequences.
 */
public final class Decoder {
    private final HybridLm model;
    private int batch = -1;
    private long position;
    private Mixer.Carry[] carries;

    public Decoder(HybridLm model) {
        if (model == null) {
            throw new IllegalArgumentException("decoder model: expected a HybridLm but found null");
        }
        this.model = model;
    }

    /**
     * Runs the prompts int[batch][T] (T ≥ 1) from the sequence start and returns the logits of their last
     * position, [batch, padded vocab]. Replaces any earlier state.
     */
    public INDArray prefill(int[][] prompts) {
        HybridLm.Forward f = model.forward(prompts);
        int b = f.batch();
        int t = f.length();
        LmState s = f.stateOut();
        reset(b);
        position = s.position();
        for (int i = 0; i < carries.length; i++) {
            // steps advance a Mamba2 carry in place: own copies, not views into the forward's activations
            carries[i] = s.carry(i) == null ? null : s.carry(i).copy();
        }
        long vocab = f.logits().size(1);
        return f.logits().reshape(b, t, vocab).get(all(), point(t - 1), all()).dup('c');
    }

    /**
     * Feeds one token per sequence and returns the logits of the next position, [batch, padded vocab]. Without
     * an earlier {@link #prefill} the sequences start here.
     */
    public INDArray step(int[] tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("decoder step tokens: expected one token per sequence but found "
                    + (tokens == null ? "null" : "none"));
        }
        if (batch >= 0 && tokens.length != batch) {
            throw new IllegalArgumentException("decoder step tokens: expected " + batch
                    + " (one per sequence of the prefill) but found " + tokens.length);
        }
        int[][] column = new int[tokens.length][];
        for (int i = 0; i < tokens.length; i++) {
            column[i] = new int[] {tokens[i]};
        }
        int[] ids = model.flatIds(column, "decoder step tokens");
        if (batch < 0) {
            reset(tokens.length);
        }
        long at = position;
        INDArray stream = model.blocks(
                model.embedIds(ids),
                new long[] {batch, model.config().dModel()},
                (i, mixer, x) -> mixer.step(x, at, carries[i]),
                carries);
        position++;
        return model.head(model.finalNormed(stream));
    }

    /** Tokens consumed so far per sequence (prompt plus steps). */
    public long position() {
        return position;
    }

    /** Sequences being decoded (−1 before the first prefill or step). */
    public int batch() {
        return batch;
    }

    /**
     * A snapshot of the state as an {@link LmState}: a {@link HybridLm#forward(int[][], LmState)} from it continues
     * the sequences exactly as further steps would.
     */
    public LmState state() {
        int n = model.config().nLayer();
        Mixer.Carry[] copies = new Mixer.Carry[n];
        for (int i = 0; i < n; i++) {
            copies[i] = carries == null || carries[i] == null ? null : carries[i].copy();
        }
        return new LmState(position, copies);
    }

    private void reset(int sequences) {
        batch = sequences;
        position = 0;
        carries = new Mixer.Carry[model.config().nLayer()];
    }
}
