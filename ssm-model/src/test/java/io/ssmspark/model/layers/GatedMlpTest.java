package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.assertClose;
import static io.ssmspark.model.layers.TestArrays.assertValues;
import static io.ssmspark.model.layers.TestArrays.of;
import static io.ssmspark.model.layers.TestArrays.randn;
import static io.ssmspark.model.layers.TestArrays.toFloat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class GatedMlpTest {

    @Test
    void forwardMatchesHandValues() {
        // hidden = 1: fc1 rows give y = 2x (first half) and gate = x (second half); fc2 = 3
        INDArray fc1 = of(new double[] {2, 1}, 2, 1);
        INDArray fc2 = of(new double[] {3}, 1, 1);
        INDArray out =
                GatedMlp.forward(of(new double[] {1, -2}, 2, 1), fc1, fc2).out();
        // 3 · 2x · silu(x): x = 1 -> 6 · 0.7310585786300049; x = −2 -> −12 · silu(−2)
        assertValues(new double[] {6 * 0.7310585786300049, -12 * -0.2384058440442351}, out, 1e-14, "out");
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random rnd = new Random(51);
        INDArray x = randn(rnd, 4, 5);
        INDArray fc1 = randn(rnd, 0.7, 12, 5);
        INDArray fc2 = randn(rnd, 0.7, 5, 6);
        INDArray r = randn(rnd, 4, 5);
        INDArray d1Start = randn(rnd, 12, 5);
        INDArray d2Start = randn(rnd, 5, 6);
        INDArray d1 = d1Start.dup();
        INDArray d2 = d2Start.dup();
        INDArray dx = GatedMlp.backward(x, fc1, fc2, GatedMlp.forward(x, fc1, fc2), r, d1, d2);
        DoubleSupplier loss = () -> GradCheck.dot(GatedMlp.forward(x, fc1, fc2).out(), r);
        GradCheck.check("x", x, dx, loss, 1);
        GradCheck.check("fc1.weight", fc1, d1.sub(d1Start), loss, 2);
        GradCheck.check("fc2.weight", fc2, d2.sub(d2Start), loss, 3);
    }

    @Test
    void floatAgreesWithDouble() {
        Random rnd = new Random(52);
        INDArray x = randn(rnd, 6, 16);
        INDArray fc1 = randn(rnd, 0.3, 64, 16);
        INDArray fc2 = randn(rnd, 0.3, 16, 32);
        INDArray dy = randn(rnd, 6, 16);
        GatedMlp.Output o64 = GatedMlp.forward(x, fc1, fc2);
        GatedMlp.Output o32 = GatedMlp.forward(toFloat(x), toFloat(fc1), toFloat(fc2));
        assertClose(o64.out(), o32.out(), 1e-5, "out");
        INDArray d1a = fc1.like();
        INDArray d2a = fc2.like();
        INDArray d1b = toFloat(fc1.like());
        INDArray d2b = toFloat(fc2.like());
        INDArray dx64 = GatedMlp.backward(x, fc1, fc2, o64, dy, d1a, d2a);
        INDArray dx32 = GatedMlp.backward(toFloat(x), toFloat(fc1), toFloat(fc2), o32, toFloat(dy), d1b, d2b);
        assertClose(dx64, dx32, 1e-5, "dx");
        assertClose(d1a, d1b, 1e-5, "dfc1");
        assertClose(d2a, d2b, 1e-5, "dfc2");
    }

    @Test
    void rejectsFc2OfTheWrongWidth() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> GatedMlp.forward(
                        of(new double[] {1}, 1, 1), of(new double[] {1, 1, 1, 1}, 4, 1), of(new double[] {1}, 1, 1)));
        assertTrue(e.getMessage().contains("fc2.weight") && e.getMessage().contains("[1, 2]"), e.getMessage());
    }
}
