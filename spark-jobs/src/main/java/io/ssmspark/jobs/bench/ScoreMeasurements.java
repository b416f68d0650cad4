package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.score.Matrix;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.LayerTimings.Part;
import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.tensor.Scratch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measures the {@link ScoreCosts} in a few seconds: the scoring forward (and NLL) of one segment per kind of layer,
 * one Mamba-2 summary folded into a state as the tasks' carries fold it, and rounds of the exchange hub on loopback
 * with two and four tasks, tiny and summary-sized messages.
 */
final class ScoreMeasurements {
    /** Timed forwards after one warm-up. */
    private static final int FORWARDS = 2;
    /** Rounds per hub measurement. */
    private static final int ROUNDS = 400;
    /** The tiny message of the latency rounds. */
    private static final int TINY_BYTES = 16;

    private ScoreMeasurements() {}

    static ScoreCosts measure(HybridLm model, ScoreShape shape, int tokens, int threads) {
        CostMeasurements.StepParts parts = forward(model, tokens);
        double tiny2 = HubRounds.secondsPerRound(2, TINY_BYTES, ROUNDS);
        double tiny4 = HubRounds.secondsPerRound(4, TINY_BYTES, ROUNDS);
        int big = (int) largestMessage(shape, tokens);
        double big2 = HubRounds.secondsPerRound(2, big, ROUNDS / 2);
        // messages the driver handles per round: W received + W² sent (6 at W = 2, 20 at W = 4)
        double perMessage = Math.max(0, (tiny4 - tiny2) / (20 - 6));
        double extraBytes = driverBytes(2, big) - driverBytes(2, TINY_BYTES);
        return new ScoreCosts(
                tokens,
                threads,
                parts.perTokenLayer(Part.MAMBA_MIXER),
                parts.perTokenLayer(Part.ATTENTION),
                parts.perTokenLayer(Part.MLP),
                parts.perTokenLayer(Part.NORMS),
                parts.perToken(Part.EMBEDDING_HEAD),
                parts.activationBytes() / ((double) tokens * shape.layerCount()),
                passStateSeconds(model),
                tiny2,
                perMessage,
                extraBytes / Math.max(big2 - tiny2, 1e-9),
                big2,
                big);
    }

    /** Bytes the hub receives and sends in one all-gather round of {@code width} raw messages of {@code bytes}. */
    static double driverBytes(int width, long bytes) {
        return width * (double) (ExchangeWire.UP_FRAME_BYTES + bytes)
                + width * (double) ExchangeWire.answer(width, bytes);
    }

    /** The largest message a segment of {@code tokens} sends (a summary, or a halo of min(rows, tokens) rows). */
    static long largestMessage(ScoreShape shape, int tokens) {
        long largest = 0;
        for (ScoreShape.Layer l : shape.layers()) {
            long rows = Math.min(l.haloRows(), tokens);
            largest = Math.max(largest, ExchangeWire.message(l.haloBlocks(), rows * l.haloBytesPerRow()));
            largest = Math.max(largest, ExchangeWire.message(l.summaryBlocks(), l.summaryBytes()));
        }
        return largest;
    }

    /** The model's forward and NLL on one segment of random tokens, timed per part, with its scratch bytes. */
    private static CostMeasurements.StepParts forward(HybridLm model, int tokens) {
        int[][][] inputsAndTargets =
                CostMeasurements.randomTokens(model.config().vocabSize(), tokens, 5);
        return CostMeasurements.timedSteps(
                model,
                tokens,
                FORWARDS,
                () -> model.nll(model.forward(inputsAndTargets[0]), inputsAndTargets[1], null));
    }

    /**
     * The first state-carrying layer's passState on its own summary, copied out as a plain matrix as the carries
     * keep it ({@code SequenceCarry.addSummary}); 0 when no layer carries a state.
     */
    private static double passStateSeconds(HybridLm model) {
        for (int l = 0; l < model.config().nLayer(); l++) {
            Mixer mixer = model.mixer(l);
            if (!mixer.carriesState()) {
                continue;
            }
            INDArray[] summary = Scratch.call(() -> {
                INDArray x = Nd4j.rand(DataType.FLOAT, 1, 64, model.config().dModel());
                INDArray[] s = mixer.fromZeroState(x, 0, null).summary();
                return new INDArray[] {Scratch.keep(s[0]), Scratch.keep(s[1])};
            });
            INDArray state = Scratch.call(() -> Scratch.keep(mixer.passState(null, summary)));
            int cols = (int) summary[1].length();
            return BenchTiming.measure(
                            20, 200, () -> Scratch.callStep(() -> Matrix.of(mixer.passState(state, summary), 1, cols)))
                    .medianSeconds();
        }
        return 0;
    }
}
