package io.ssmspark.model.lm;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.tensor.Scratch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One scoring window of one sequence through the model layer by layer, for {@link SequenceScorer}: the same
 * numbers as {@link HybridLm#forward} and {@link HybridLm#nll}, without what a backward would need, and with each
 * layer in its own {@link Scratch} scope. Only the stream between layers ([T, d]) and the state handed on outlive a
 * layer, so native memory peaks at one layer's working set of the window instead of the whole forward's.
 */
final class LayerwiseWindow {
    /** The NLL of each input's target (natural log) and the state after the window (owned, outside workspaces). */
    record Result(double[] nll, LmState stateOut) {
    }

    private LayerwiseWindow() {
    }

    /** Scores {@code inputs} → {@code targets} continuing {@code state} (null: the sequence start). */
    static Result score(HybridLm model, int[] inputs, int[] targets, LmState state) {
        MambaConfig c = model.config();
        int t = inputs.length;
        int d = c.dModel();
        int n = c.nLayer();
        int[] targetIds = model.flatIds(new int[][] {targets}, "targets");
        if (targetIds.length != t) {
            throw new IllegalArgumentException("targets: expected " + t + " (one per input) but found " + targets.length);
        }
        long position = state == null ? 0 : state.position();
        Mamba2Mixer.Carry[] carries = new Mamba2Mixer.Carry[n];
        INDArray[] keys = new INDArray[n];
        INDArray[] values = new INDArray[n];
        INDArray stream = Scratch.callStep(() -> Scratch.keep(model.embed(inputs)));
        for (int i = 0; i < n; i++) {
            INDArray next;
            try (Scratch layer = Scratch.openStep()) {
                INDArray x = model.normed(i, stream).reshape(1, t, d);
                INDArray out;
                if (c.isAttentionLayer(i)) {
                    INDArray pastKey = state == null ? null : state.pastKey(i);
                    INDArray pastValue = state == null ? null : state.pastValue(i);
                    Attention.Inference o = Attention.infer(x, model.attentionWeights(i), model.attentionSpec(),
                            position, pastKey, pastValue);
                    INDArray[] kept = HybridLm.keptKeyValues(model.attentionSpec().windowSize(), pastKey, pastValue,
                            o.key(), o.value());
                    keys[i] = Scratch.keep(kept[0]);
                    values[i] = Scratch.keep(kept[1]);
                    out = o.out();
                } else {
                    Mamba2Mixer.Output o = Mamba2Mixer.forward(x, model.mambaWeights(i), model.mixerSpec(),
                            state == null ? null : state.mixerCarry(i));
                    carries[i] = new Mamba2Mixer.Carry(Scratch.keep(o.carryOut().convRows()),
                            Scratch.keep(o.carryOut().ssmState()));
                    out = o.out();
                }
                next = Scratch.keep(model.finishBlock(i, stream, out));
            }
            stream.close(); // our own copy, read by no one else
            stream = next;
        }
        double[] nll;
        try (Scratch head = Scratch.openStep()) {
            INDArray logits = model.head(model.finalNormed(stream));
            nll = CrossEntropy.forward(logits, targetIds, null).rowLoss().castTo(DataType.DOUBLE).toDoubleVector();
        }
        stream.close();
        return new Result(nll, new LmState(position + t, carries, keys, values));
    }
}
