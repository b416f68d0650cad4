package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.randn;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The checker itself: it accepts a correct gradient and rejects slightly wrong or zero ones. */
class GradCheckTest {

    @Test
    void acceptsTheTrueGradientAndRejectsWrongOnes() {
        Random rnd = new Random(1);
        INDArray x = randn(rnd, 30);
        INDArray r = randn(rnd, 30);
        // L = Σ r ∘ x³, dL/dx = 3 r x²
        DoubleSupplier loss = () -> GradCheck.dot(x.mul(x).muli(x), r);
        INDArray truth = x.mul(x).muli(r).muli(3);
        double rel = GradCheck.check("x", x, truth, loss, 7);
        assertTrue(rel < 1e-8, "relative error of the true gradient: " + rel);
        assertThrows(AssertionError.class, () -> GradCheck.check("x", x, truth.mul(1.0 + 1e-5), loss, 7));
        INDArray oneEntryOff = truth.dup();
        oneEntryOff.putScalar(3, oneEntryOff.getDouble(3) + 0.01);
        // 30 entries: all are checked, so one wrong entry fails
        assertThrows(AssertionError.class, () -> GradCheck.check("x", x, oneEntryOff, loss, 7));
        assertThrows(AssertionError.class, () -> GradCheck.check("x", x, truth.mul(0), () -> 0.0, 7));
    }
}
