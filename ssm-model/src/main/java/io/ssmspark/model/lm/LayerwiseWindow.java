package io.ssmspark.model.lm;

import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.tensor.Scratch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One scoring window of one sequence through the model's blocks ({@link HybridLm#walk}, each mixer's
 * {@link Mixer#infer}), for {@link SequenceScorer}: the same numbers as {@link HybridLm#forward} and
 * {@link HybridLm#nll}, without what a backward would need, and with each layer in its own {@link Scratch} scope.
 * Only the stream between layers ([T, d]) and the state handed on outlive a layer, so native memory peaks at one
 * layer's working set of the window instead of the whole forward's.
 */
public final class LayerwiseWindow {
    /**
     * The NLL of each input's target (natural log), the state after the window (owned, outside workspaces) and,
     * when asked for, the last hidden state (norm_f output) of each input, [T][d].
     */
    public record Result(double[] nll, LmState stateOut, float[][] hidden) {}

    private LayerwiseWindow() {}

    /** Scores {@code inputs} → {@code targets} continuing {@code state} (null: the sequence start). */
    static Result score(HybridLm model, int[] inputs, int[] targets, LmState state) {
        return score(model, inputs, targets, state, false);
    }

    /**
     * Scores {@code inputs} → {@code targets} (one sequence, ids checked as every path checks them) continuing
     * {@code state} (null: the sequence start), with the last hidden states when {@code withHidden}.
     */
    public static Result score(HybridLm model, int[] inputs, int[] targets, LmState state, boolean withHidden) {
        int t = inputs.length;
        int[] targetIds = model.flatIds(new int[][] {targets}, "targets");
        if (targetIds.length != t) {
            throw new IllegalArgumentException(
                    "targets: expected " + t + " (one per input) but found " + targets.length);
        }
        long position = state == null ? 0 : state.position();
        Mixer.Carry[] carries = new Mixer.Carry[model.config().nLayer()];
        INDArray embedded = Scratch.callStep(() -> Scratch.keep(model.embed(inputs)));
        INDArray stream = model.walk(
                embedded,
                new long[] {1, t, model.config().dModel()},
                (i, mixer, x) -> mixer.infer(x, position, state == null ? null : state.carry(i)),
                carries,
                null,
                true);
        double[] nll;
        float[][] hidden = null;
        try (Scratch head = Scratch.openStep()) {
            INDArray normed = model.finalNormed(stream);
            INDArray logits = model.head(normed);
            nll = CrossEntropy.forward(logits, targetIds, null)
                    .rowLoss()
                    .castTo(DataType.DOUBLE)
                    .toDoubleVector();
            if (withHidden) {
                hidden = normed.castTo(DataType.FLOAT).toFloatMatrix();
            }
        }
        stream.close();
        return new Result(nll, new LmState(position + t, carries), hidden);
    }
}
