package io.ssmspark.model.lm;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.layers.Embedding;
import io.ssmspark.model.layers.GatedMlp;
import io.ssmspark.model.layers.Linear;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Recurrent decoding with a {@link HybridLm}: {@link #prefill} runs the chunked forward over a prompt, then each
 * {@link #step} feeds one token per sequence through per-layer single-token paths and returns the next logits.
 * The per-layer state is
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
    private INDArray[] convRows;
    private INDArray[] ssmStates;
    private INDArray[] pastKeys;
    private INDArray[] pastValues;

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
        int n = model.config().nLayer();
        reset(b);
        position = s.position();
        for (int i = 0; i < n; i++) {
            Mamba2Mixer.Carry carry = s.mixerCarry(i);
            if (carry != null) {
                convRows[i] = carry.convRows().dup('c');
                ssmStates[i] = carry.ssmState().dup('c');
            } else {
                pastKeys[i] = s.pastKey(i);
                pastValues[i] = s.pastValue(i);
            }
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
        LayerTensors weights = model.weights();
        long b = batch;
        int d = model.config().dModel();
        INDArray hidden = Embedding.forward(weights.embedding, ids);
        INDArray residual = null;
        for (int i = 0; i < weights.blocks.length; i++) {
            LayerTensors.Block w = weights.blocks[i];
            residual = residual == null ? hidden : hidden.add(residual);
            INDArray normed = model.norm(residual, w.norm());
            if (w.mamba() != null) {
                Mamba2Mixer.Spec spec = model.mixerSpec();
                if (convRows[i] == null) {
                    convRows[i] = Nd4j.zeros(normed.dataType(), b, spec.convKernel() - 1, spec.convDim());
                    ssmStates[i] = Nd4j.zeros(normed.dataType(), b, spec.heads(), spec.headDim(), spec.dState());
                }
                hidden = MixerStep.step(normed, w.mamba(), spec, convRows[i], ssmStates[i]);
            } else {
                Attention.Spec spec = model.attentionSpec();
                Attention.Inference out = Attention.infer(normed.reshape(b, 1, d), w.attention(), spec, position,
                        pastKeys[i], pastValues[i]);
                hidden = Mamba2Mixer.contiguous(out.out()).reshape(b, d);
                INDArray[] kept = HybridLm.keptKeyValues(spec.windowSize(), pastKeys[i], pastValues[i], out.key(),
                        out.value());
                pastKeys[i] = kept[0];
                pastValues[i] = kept[1];
            }
            if (w.norm2() != null) {
                residual = hidden.add(residual);
                hidden = GatedMlp.forward(model.norm(residual, w.norm2()), w.fc1(), w.fc2()).out();
            }
        }
        INDArray normed = model.norm(hidden.add(residual), weights.normF);
        position++;
        return Linear.forward(normed, weights.head, null);
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
        Mamba2Mixer.Carry[] carries = new Mamba2Mixer.Carry[n];
        INDArray[] keys = new INDArray[n];
        INDArray[] values = new INDArray[n];
        for (int i = 0; i < n; i++) {
            if (model.config().isAttentionLayer(i)) {
                keys[i] = pastKeys == null || pastKeys[i] == null ? null : pastKeys[i].dup('c');
                values[i] = pastValues == null || pastValues[i] == null ? null : pastValues[i].dup('c');
            } else if (convRows != null && convRows[i] != null) {
                carries[i] = new Mamba2Mixer.Carry(convRows[i].dup('c'), ssmStates[i].dup('c'));
            } else {
                carries[i] = new Mamba2Mixer.Carry(null, null);
            }
        }
        return new LmState(position, carries, keys, values);
    }

    private void reset(int sequences) {
        int n = model.config().nLayer();
        batch = sequences;
        position = 0;
        convRows = new INDArray[n];
        ssmStates = new INDArray[n];
        pastKeys = new INDArray[n];
        pastValues = new INDArray[n];
    }
}
