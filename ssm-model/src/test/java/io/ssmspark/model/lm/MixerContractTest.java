package io.ssmspark.model.lm;

import static io.ssmspark.model.testing.FiniteDifferences.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.testing.TinyModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What every {@link Mixer} promises, checked on each mixer of a hybrid model (Mamba2; attention full, with a
 * window of 3 and of 1; Mamba1 alone and beside attention), of RetNet models (pure and hybrid) and of S4D models
 * (pure, and with attention) in fp64: the training window, windows continued through their carries, one-token steps
 * and the segment protocol (halo, zero state, passState, finish) all give the whole window's {@link Mixer#infer}. A new
 * mixer registered in {@link Mixers} can be added to this test as it is.
 */
class MixerContractTest {
    private static final int T = 13;
    /** Uneven segment boundaries: segments of 1, 2, 5 and 5 tokens (shorter and longer than every halo here). */
    private static final int[] CUTS = {0, 1, 3, 8, T};

    @ParameterizedTest(name = "attention window {0} (0: full)")
    @ValueSource(ints = {0, 3, 1})
    void everyPathOfEveryMixerGivesTheWholeWindow(int window) {
        HybridLm model =
                TinyModels.randomModel(TinyModels.hybrid(window == 0 ? null : window), 21, 0.1, DataType.DOUBLE);
        everyPathGivesTheWholeWindow(model);
    }

    /** RetNet, pure and with attention (full, window 3), with and without its group norm and gate. */
    @ParameterizedTest(name = "RetNet attention={0} window={1} groupNorm={2} gate={3} value_factor={4}")
    @CsvSource({
        "false,0,true,true,2",
        "false,0,false,false,1",
        "true,0,true,true,2",
        "true,3,false,true,2",
        "true,0,true,false,1"
    })
    void everyPathOfARetNetModelGivesTheWholeWindow(
            boolean attention, int window, boolean groupNorm, boolean gate, int valueFactor) {
        RetNetConfig retention =
                RetNetConfig.of(2).withGroupNorm(groupNorm).withGate(gate).withValueFactor(valueFactor);
        HybridLm model = TinyModels.randomModel(
                TinyModels.retNet(attention, window == 0 ? null : window, retention), 23, 0.1, DataType.DOUBLE);
        assertEquals("retnet", model.mixer(0).kind());
        everyPathGivesTheWholeWindow(model);
    }

    /** S4D, pure (blocks of 4 and of 1, shorter than the window of 13) and with attention (full and window 3). */
    @ParameterizedTest(name = "{0}")
    @EnumSource(S4dConfig.Init.class)
    void everyPathOfS4dModelsGivesTheWholeWindow(S4dConfig.Init init) {
        everyPathGivesTheWholeWindow(TinyModels.randomModel(TinyModels.pureS4d(init, 4), 31, 0.1, DataType.DOUBLE));
        everyPathGivesTheWholeWindow(TinyModels.randomModel(TinyModels.pureS4d(init, 1), 32, 0.1, DataType.DOUBLE));
        everyPathGivesTheWholeWindow(
                TinyModels.randomModel(TinyModels.hybridS4d(init, null), 33, 0.1, DataType.DOUBLE));
        everyPathGivesTheWholeWindow(TinyModels.randomModel(TinyModels.hybridS4d(init, 3), 34, 0.1, DataType.DOUBLE));
    }

    /**
     * Mamba-1: a pure model (d_conv 3, no biases) and a hybrid with attention (d_conv 4, in/out_proj biases); with
     * parameter noise 0.3, so that the state carried into a segment moves the outputs by more than 1e-3.
     */
    @ParameterizedTest(name = "Mamba-1, attention window {0} (0: full, -1: no attention)")
    @ValueSource(ints = {-1, 0, 3})
    void everyPathOfEveryMamba1ModelGivesTheWholeWindow(int window) {
        everyPathGivesTheWholeWindow(TinyModels.randomModel(
                window < 0 ? TinyModels.pureMamba1() : TinyModels.mamba1Hybrid(window == 0 ? null : window),
                23,
                0.3,
                DataType.DOUBLE));
    }

    private static void everyPathGivesTheWholeWindow(HybridLm model) {
        for (int layer = 0; layer < model.config().nLayer(); layer++) {
            Mixer mixer = model.mixer(layer);
            String what = "layer " + layer + " (" + mixer.kind() + ")";
            INDArray x = randn(new Random(22 + layer), 1.0, 1, T, model.config().dModel());
            INDArray whole = mixer.infer(x, 0, null).out();
            assertEquals(0, maxAbsDiff(whole, mixer.forward(x, 0, null, null).out()), 1e-12, what + ": forward");
            assertEquals(0, maxAbsDiff(whole, continued(mixer, x)), 1e-12, what + ": windows through carries");
            assertEquals(0, maxAbsDiff(whole, stepped(mixer, x)), 1e-10, what + ": steps");
            assertEquals(0, maxAbsDiff(whole, segmented(mixer, x)), 1e-10, what + ": segments");
        }
    }

    /** The window cut at {@link #CUTS}, each part continuing the previous one's carry. */
    private static INDArray continued(Mixer mixer, INDArray x) {
        List<INDArray> outs = new ArrayList<>();
        Mixer.Carry carry = null;
        for (int k = 0; k + 1 < CUTS.length; k++) {
            Mixer.Window w = mixer.infer(part(x, CUTS[k], CUTS[k + 1]), CUTS[k], carry);
            outs.add(w.out());
            carry = w.carryOut();
        }
        return Nd4j.concat(1, outs.toArray(new INDArray[0]));
    }

    /** One token at a time through {@link Mixer#step}. */
    private static INDArray stepped(Mixer mixer, INDArray x) {
        List<INDArray> outs = new ArrayList<>();
        Mixer.Carry carry = null;
        for (int t = 0; t < T; t++) {
            Mixer.Window w = mixer.step(x.get(all(), point(t), all()).dup('c').reshape(1, x.size(2)), t, carry);
            outs.add(w.out().reshape(1, 1, x.size(2)));
            carry = w.carryOut();
        }
        return Nd4j.concat(1, outs.toArray(new INDArray[0]));
    }

    /**
     * The segment protocol in sequence order: each segment reads the last haloRows rows of the earlier segments'
     * tails, runs from a zero state and finishes with the state passed through the earlier summaries.
     */
    private static INDArray segmented(Mixer mixer, INDArray x) {
        List<INDArray> outs = new ArrayList<>();
        INDArray[] halo = null;
        INDArray state = null;
        boolean correctionMatters = false;
        for (int k = 0; k + 1 < CUTS.length; k++) {
            int start = CUTS[k];
            int end = CUTS[k + 1];
            Mixer.Segment seg = mixer.fromZeroState(part(x, start, end), start, halo);
            INDArray[] summary = seg.summary();
            assertEquals(mixer.carriesState(), summary != null);
            int keep = Math.min(mixer.haloRows(), end - start);
            INDArray[] tail = keep == 0 ? null : mixer.halo(part(x, end - keep, end), end - keep);
            if (mixer.carriesState() && state != null) {
                INDArray uncorrected = mixer.finish(mixer.fromZeroState(part(x, start, end), start, halo), null);
                INDArray out = mixer.finish(seg, state);
                correctionMatters |= maxAbsDiff(uncorrected, out) > 1e-3;
                outs.add(out);
            } else {
                outs.add(mixer.finish(seg, state));
            }
            if (mixer.carriesState()) {
                state = mixer.passState(state, summary);
            }
            halo = appendKeepingLast(halo, tail, mixer.haloRows());
        }
        assertTrue(!mixer.carriesState() || correctionMatters, "the initial-state term is not vacuous");
        return Nd4j.concat(1, outs.toArray(new INDArray[0]));
    }

    private static INDArray[] appendKeepingLast(INDArray[] before, INDArray[] added, int rows) {
        if (added == null) {
            return before;
        }
        INDArray[] out = new INDArray[added.length];
        for (int i = 0; i < added.length; i++) {
            INDArray all = before == null ? added[i] : Nd4j.concat(0, before[i], added[i]);
            long n = all.size(0);
            out[i] = n <= rows ? all : all.get(interval(n - rows, n), all()).dup('c');
        }
        return out;
    }

    private static INDArray part(INDArray x, int from, int to) {
        return x.get(all(), interval(from, to), all()).dup('c');
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        assertEquals(a.length(), b.length());
        return a.reshape(a.length()).sub(b.reshape(b.length())).amaxNumber().doubleValue();
    }
}
