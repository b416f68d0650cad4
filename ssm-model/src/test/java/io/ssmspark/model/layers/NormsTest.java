package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.assertClose;
import static io.ssmspark.model.layers.TestArrays.assertValues;
import static io.ssmspark.model.layers.TestArrays.of;
import static io.ssmspark.model.layers.TestArrays.randn;
import static io.ssmspark.model.layers.TestArrays.toFloat;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/** RmsNorm, LayerNorm and GatedRmsNorm. */
class NormsTest {

    private static final double EPS = 1e-5;

    @Test
    void rmsNormOfThreeFour() {
        INDArray y = RmsNorm.forward(of(new double[] {3, 4}, 1, 2), of(new double[] {1, 2}, 2), EPS);
        // rsqrt((9 + 16)/2 + 1e-5) = 0.28284259...; times [3, 4] and w = [1, 2]
        assertValues(new double[] {0.8485277980128058, 2.2627407947008153}, y, 1e-15, "rmsnorm");
    }

    @Test
    void layerNormOfOneToFour() {
        INDArray y = LayerNorm.forward(
                of(new double[] {1, 2, 3, 4}, 1, 4),
                of(new double[] {1, 1, 1, 1}, 4),
                of(new double[] {0, 0, 0, 1}, 4),
                EPS);
        // mean 2.5, biased variance 1.25
        assertValues(
                new double[] {-1.3416354199689269, -0.447211806656309, 0.447211806656309, 2.3416354199689269},
                y,
                1e-15,
                "layernorm");
    }

    @Test
    void gatedNormMatchesHandValuesInBothGateOrders() {
        INDArray x = of(new double[] {1, 2, 3, 4}, 1, 4);
        INDArray z = of(new double[] {1, -1, 2, 0.5}, 1, 4);
        INDArray w = of(new double[] {1, 1, 2, 2}, 4);
        // groups of 2 channels: [1, 2] and [3, 4] are normalized separately
        assertValues(
                new double[] {1.1390960389203364, -0.8381000284772336, 2.7530711979701747, 0.6485318429127953},
                GatedRmsNorm.forward(x, z, w, 2, EPS, false),
                1e-14,
                "norm(x·silu(z))·w");
        assertValues(
                new double[] {0.4623611175739122, -0.34018629910498865, 2.989523220290744, 0.7042320608763113},
                GatedRmsNorm.forward(x, z, w, 2, EPS, true),
                1e-14,
                "norm(x)·w·silu(z)");
    }

    @Test
    void gatedNormWithOneGroupAndNoGateIsRmsNorm() {
        Random rnd = new Random(3);
        INDArray x = randn(rnd, 5, 8);
        INDArray w = randn(rnd, 8);
        assertClose(RmsNorm.forward(x, w, EPS), GatedRmsNorm.forward(x, null, w, 8, EPS, false), 1e-15, "one group");
    }

    @Test
    void rmsNormGradients() {
        Random rnd = new Random(31);
        INDArray x = randn(rnd, 4, 6);
        INDArray w = randn(rnd, 6);
        INDArray r = randn(rnd, 4, 6);
        INDArray dW0 = randn(rnd, 6);
        INDArray dW = dW0.dup();
        INDArray dx = RmsNorm.backward(x, w, EPS, r, dW);
        DoubleSupplier loss = () -> GradCheck.dot(RmsNorm.forward(x, w, EPS), r);
        GradCheck.check("x", x, dx, loss, 1);
        GradCheck.check("weight", w, dW.sub(dW0), loss, 2);
    }

    @Test
    void layerNormGradients() {
        Random rnd = new Random(32);
        INDArray x = randn(rnd, 4, 6);
        INDArray w = randn(rnd, 6);
        INDArray b = randn(rnd, 6);
        INDArray r = randn(rnd, 4, 6);
        INDArray dW0 = randn(rnd, 6);
        INDArray dB0 = randn(rnd, 6);
        INDArray dW = dW0.dup();
        INDArray dB = dB0.dup();
        INDArray dx = LayerNorm.backward(x, w, b, EPS, r, dW, dB);
        DoubleSupplier loss = () -> GradCheck.dot(LayerNorm.forward(x, w, b, EPS), r);
        GradCheck.check("x", x, dx, loss, 1);
        GradCheck.check("weight", w, dW.sub(dW0), loss, 2);
        GradCheck.check("bias", b, dB.sub(dB0), loss, 3);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void gatedNormGradients(boolean normBeforeGate) {
        Random rnd = new Random(normBeforeGate ? 33 : 34);
        INDArray x = randn(rnd, 3, 12);
        INDArray z = randn(rnd, 2.0, 3, 12);
        INDArray w = randn(rnd, 12);
        INDArray r = randn(rnd, 3, 12);
        INDArray dW0 = randn(rnd, 12);
        INDArray dW = dW0.dup();
        GatedRmsNorm.Gradients g = GatedRmsNorm.backward(x, z, w, 4, EPS, normBeforeGate, r, dW);
        DoubleSupplier loss = () -> GradCheck.dot(GatedRmsNorm.forward(x, z, w, 4, EPS, normBeforeGate), r);
        GradCheck.check("x", x, g.dx(), loss, 1);
        GradCheck.check("z", z, g.dz(), loss, 2);
        GradCheck.check("weight", w, dW.sub(dW0), loss, 3);
    }

    @Test
    void ungatedGroupNormGradients() {
        Random rnd = new Random(35);
        INDArray x = randn(rnd, 3, 8);
        INDArray w = randn(rnd, 8);
        INDArray r = randn(rnd, 3, 8);
        INDArray dW = w.like();
        GatedRmsNorm.Gradients g = GatedRmsNorm.backward(x, null, w, 2, EPS, false, r, dW);
        assertNull(g.dz());
        DoubleSupplier loss = () -> GradCheck.dot(GatedRmsNorm.forward(x, null, w, 2, EPS, false), r);
        GradCheck.check("x", x, g.dx(), loss, 1);
        GradCheck.check("weight", w, dW, loss, 2);
    }

    @Test
    void floatAgreesWithDouble() {
        Random rnd = new Random(36);
        INDArray x = randn(rnd, 6, 16);
        INDArray z = randn(rnd, 6, 16);
        INDArray w = randn(rnd, 16);
        INDArray b = randn(rnd, 16);
        INDArray dy = randn(rnd, 6, 16);
        INDArray x32 = toFloat(x);
        INDArray w32 = toFloat(w);
        assertClose(RmsNorm.forward(x, w, EPS), RmsNorm.forward(x32, w32, EPS), 1e-6, "rms y");
        assertClose(
                RmsNorm.backward(x, w, EPS, dy, null),
                RmsNorm.backward(x32, w32, EPS, toFloat(dy), null),
                1e-5,
                "rms dx");
        assertClose(LayerNorm.forward(x, w, b, EPS), LayerNorm.forward(x32, w32, toFloat(b), EPS), 1e-6, "ln y");
        assertClose(
                LayerNorm.backward(x, w, b, EPS, dy, null, null),
                LayerNorm.backward(x32, w32, toFloat(b), EPS, toFloat(dy), null, null),
                1e-5,
                "ln dx");
        for (boolean before : new boolean[] {false, true}) {
            assertClose(
                    GatedRmsNorm.forward(x, z, w, 4, EPS, before),
                    GatedRmsNorm.forward(x32, toFloat(z), w32, 4, EPS, before),
                    1e-6,
                    "gated y");
            INDArray dW64 = w.like();
            INDArray dW32 = toFloat(w.like());
            GatedRmsNorm.Gradients g64 = GatedRmsNorm.backward(x, z, w, 4, EPS, before, dy, dW64);
            GatedRmsNorm.Gradients g32 = GatedRmsNorm.backward(x32, toFloat(z), w32, 4, EPS, before, toFloat(dy), dW32);
            assertClose(g64.dx(), g32.dx(), 1e-5, "gated dx");
            assertClose(g64.dz(), g32.dz(), 1e-5, "gated dz");
            assertClose(dW64, dW32, 1e-5, "gated dw");
        }
    }

    @Test
    void rejectsBadGroupSizeAndWeightShape() {
        INDArray x = of(new double[] {1, 2, 3, 4, 5, 6}, 1, 6);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> GatedRmsNorm.forward(x, null, of(new double[] {1, 1, 1, 1, 1, 1}, 6), 4, EPS, false));
        assertTrue(e.getMessage().contains("groupSize") && e.getMessage().contains("6"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RmsNorm.forward(x, of(new double[] {1, 1}, 2), EPS));
    }
}
