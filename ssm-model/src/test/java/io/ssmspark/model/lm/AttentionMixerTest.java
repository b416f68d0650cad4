package io.ssmspark.model.lm;

import static io.ssmspark.model.testing.FiniteDifferences.dot;
import static io.ssmspark.model.testing.FiniteDifferences.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.mixer.AttentionMixer;
import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.testing.FiniteDifferences;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The attention mixer's backward through both carries: past keys/values in, and the kept keys/values out (the carry a
 * later window reads), in fp64 central differences (≤ 1e-6 relative).
 */
class AttentionMixerTest {

    @ParameterizedTest(name = "window={0} past={1}")
    @CsvSource({"0, 3", "3, 3", "2, 0", "0, 0"})
    void gradientsThroughTheKeptKeysMatchFiniteDifferences(int window, int past) {
        Random rnd = new Random(90 + window + past);
        int b = 2;
        int t = 4;
        int d = 6;
        Attention.Spec spec = new Attention.Spec(4, 2, 3, 2, 10000, null, window);
        Attention.Weights w = new Attention.Weights(
                randn(rnd, 0.5, spec.qkvDim(), d), randn(rnd, 0.5, spec.qkvDim()),
                randn(rnd, 0.5, d, spec.contextDim()), randn(rnd, 0.5, d));
        AttentionMixer mixer = new AttentionMixer(w, spec);
        INDArray x = randn(rnd, 1.0, b, t, d);
        AttentionMixer.KeyValues carryIn = past == 0
                ? null
                : new AttentionMixer.KeyValues(randn(rnd, 1.0, b, past, 2, 3), randn(rnd, 1.0, b, past, 2, 3));
        Mixer.Window fwd = mixer.forward(x, past, carryIn, null);
        AttentionMixer.KeyValues kept = (AttentionMixer.KeyValues) fwd.carryOut();
        long keptRows = window == 0 ? past + t : Math.min(window - 1, past + t);
        assertEquals(keptRows, kept.keys().size(1));
        INDArray r = randn(rnd, 1.0, b, t, d);
        INDArray rk = randn(rnd, 1.0, kept.keys().shape());
        INDArray rv = randn(rnd, 1.0, kept.values().shape());
        DoubleSupplier loss = () -> {
            Mixer.Window o = mixer.forward(x, past, carryIn, null);
            AttentionMixer.KeyValues k = (AttentionMixer.KeyValues) o.carryOut();
            return dot(o.out(), r) + dot(k.keys(), rk) + dot(k.values(), rv);
        };
        AttentionMixer gradients = new AttentionMixer(
                new Attention.Weights(
                        w.inProjWeight().ulike().assign(0),
                        w.inProjBias().ulike().assign(0),
                        w.outProjWeight().ulike().assign(0),
                        w.outProjBias().ulike().assign(0)),
                spec);
        Mixer.Gradients g = mixer.backward(x, fwd, r, new AttentionMixer.KeyValues(rk, rv), gradients, null);

        Map<String, INDArray[]> checks = new LinkedHashMap<>();
        checks.put("x", new INDArray[] {x, g.dx()});
        checks.put(
                "in_proj.weight",
                new INDArray[] {w.inProjWeight(), gradients.weights().inProjWeight()});
        checks.put(
                "in_proj.bias",
                new INDArray[] {w.inProjBias(), gradients.weights().inProjBias()});
        checks.put(
                "out_proj.weight",
                new INDArray[] {w.outProjWeight(), gradients.weights().outProjWeight()});
        if (past > 0) {
            AttentionMixer.KeyValues dIn = (AttentionMixer.KeyValues) g.dCarryIn();
            checks.put("past keys", new INDArray[] {carryIn.keys(), dIn.keys()});
            checks.put("past values", new INDArray[] {carryIn.values(), dIn.values()});
        }
        Random pick = new Random(5);
        for (Map.Entry<String, INDArray[]> e : checks.entrySet()) {
            INDArray p = e.getValue()[0];
            FiniteDifferences.check(
                    e.getKey(), p, e.getValue()[1], FiniteDifferences.entries(p.length(), 24, pick), loss, 1e-6);
        }
    }
}
