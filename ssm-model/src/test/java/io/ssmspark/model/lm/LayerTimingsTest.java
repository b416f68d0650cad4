package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.mixer.LayerTimings;
import io.ssmspark.model.mixer.LayerTimings.Part;
import io.ssmspark.model.testing.TinyModels;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class LayerTimingsTest {

    private static LayerTimings trainStep(HybridLm model, MambaConfig c, LayerTimings timings, INDArray[] out) {
        model.setTimings(timings);
        int[][] tokens = TinyModels.tokens(new Random(1), 2, 9, c.vocabSize());
        HybridLm.Forward f = model.forward(tokens);
        model.nll(f, tokens, null);
        INDArray grad = model.newGradient();
        model.backward(f, tokens, null, 1.0, grad);
        out[0] = f.logits();
        out[1] = grad;
        return timings;
    }

    @Test
    void everyPresentKindOfLayerGetsTimeAndAbsentOnesNone() {
        MambaConfig hybrid = TinyModels.hybrid(null);
        HybridLm model = TinyModels.randomModel(hybrid, 3, 0.1, DataType.DOUBLE);
        LayerTimings t = trainStep(model, hybrid, new LayerTimings(), new INDArray[2]);
        for (Part p : Part.values()) {
            if (p == Part.S4D_MIXER) { // no S4D layer in this model
                assertEquals(0.0, t.forwardSeconds(p) + t.backwardSeconds(p));
                continue;
            }
            assertTrue(t.forwardSeconds(p) > 0, "forward " + p);
            assertTrue(t.backwardSeconds(p) > 0, "backward " + p);
        }
        assertTrue(t.forwardSeconds(Part.SSD) < t.forwardSeconds(Part.MAMBA_MIXER));
        assertTrue(t.backwardSeconds(Part.SSD) < t.backwardSeconds(Part.MAMBA_MIXER));

        MambaConfig pure = TinyModels.pureMamba(); // no attention, no MLP
        LayerTimings p = trainStep(
                TinyModels.randomModel(pure, 3, 0.1, DataType.DOUBLE), pure, new LayerTimings(), new INDArray[2]);
        assertEquals(
                0.0,
                p.forwardSeconds(Part.ATTENTION)
                        + p.backwardSeconds(Part.ATTENTION)
                        + p.forwardSeconds(Part.MLP)
                        + p.backwardSeconds(Part.MLP));
        assertTrue(p.forwardSeconds(Part.SSD) > 0);
        p.reset();
        assertEquals(0.0, p.forwardSeconds(Part.SSD) + p.backwardSeconds(Part.MAMBA_MIXER));

        MambaConfig s4d = TinyModels.hybridS4d(S4dConfig.Init.LIN, null); // S4D layers instead of Mamba2
        LayerTimings q = trainStep(
                TinyModels.randomModel(s4d, 3, 0.1, DataType.DOUBLE), s4d, new LayerTimings(), new INDArray[2]);
        assertTrue(q.forwardSeconds(Part.S4D_MIXER) > 0 && q.backwardSeconds(Part.S4D_MIXER) > 0);
        assertTrue(q.forwardSeconds(Part.ATTENTION) > 0);
        assertEquals(
                0.0,
                q.forwardSeconds(Part.MAMBA_MIXER)
                        + q.backwardSeconds(Part.MAMBA_MIXER)
                        + q.forwardSeconds(Part.SSD)
                        + q.backwardSeconds(Part.SSD));
    }

    @Test
    void timingChangesNoNumberAndDetachingStopsIt() {
        MambaConfig c = TinyModels.hybrid(3);
        HybridLm model = TinyModels.randomModel(c, 4, 0.1, DataType.DOUBLE);
        INDArray[] timed = new INDArray[2];
        INDArray[] plain = new INDArray[2];
        LayerTimings t = trainStep(model, c, new LayerTimings(), timed);
        double before = t.forwardSeconds(Part.MAMBA_MIXER);
        trainStep(model, c, null, plain);
        assertEquals(timed[0], plain[0]);
        assertEquals(timed[1], plain[1]);
        assertEquals(before, t.forwardSeconds(Part.MAMBA_MIXER)); // detached: nothing more added
    }
}
