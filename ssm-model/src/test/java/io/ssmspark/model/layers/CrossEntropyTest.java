package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.assertClose;
import static io.ssmspark.model.layers.TestArrays.assertValues;
import static io.ssmspark.model.layers.TestArrays.of;
import static io.ssmspark.model.layers.TestArrays.randn;
import static io.ssmspark.model.layers.TestArrays.toFloat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CrossEntropyTest {

    private static final INDArray LOGITS = of(
            new double[] {
                0, 0, 0, 0,
                0, Math.log(2), Math.log(3), Math.log(4),
                1000, 0, 0, 0
            },
            3,
            4);
    private static final int[] TARGETS = {2, 3, 1};

    @Test
    void forwardMatchesHandValuesAndIsStable() {
        CrossEntropy.Result res = CrossEntropy.forward(LOGITS, TARGETS, null);
        // uniform over 4 -> ln 4; softmax [0.1, 0.2, 0.3, 0.4] -> −ln 0.4; 1000 above the target -> 1000
        assertValues(new double[] {Math.log(4), -Math.log(0.4), 1000}, res.rowLoss(), 1e-12, "nll");
        assertEquals(Math.log(4) - Math.log(0.4) + 1000, res.weightedSum(), 1e-12);
        INDArray weights = of(new double[] {1, 2, 0}, 3);
        CrossEntropy.Result masked = CrossEntropy.forward(LOGITS, Nd4j.createFromArray(TARGETS), weights);
        assertEquals(Math.log(4) - 2 * Math.log(0.4), masked.weightedSum(), 1e-12, "masked sum");
    }

    @Test
    void backwardIsSoftmaxMinusOneHotTimesWeightAndScale() {
        INDArray weights = of(new double[] {1, 2, 0}, 3);
        INDArray d = CrossEntropy.backward(LOGITS, TARGETS, weights, 0.5);
        assertValues(new double[] {0.125, 0.125, -0.375, 0.125, 0.1, 0.2, 0.3, -0.6, 0, 0, 0, 0}, d, 1e-15, "dlogits");
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        Random rnd = new Random(61);
        INDArray logits = randn(rnd, 2.0, 5, 7);
        int[] targets = {0, 6, 3, 3, 1};
        INDArray weights = of(new double[] {1, 0, 0.5, 2, 1}, 5);
        double scale = 0.3;
        INDArray d = CrossEntropy.backward(logits, targets, weights, scale);
        GradCheck.check(
                "logits",
                logits,
                d,
                () -> scale * CrossEntropy.forward(logits, targets, weights).weightedSum(),
                1);
    }

    @Test
    void floatAgreesWithDouble() {
        Random rnd = new Random(62);
        INDArray logits = randn(rnd, 3.0, 8, 50);
        int[] targets = rnd.ints(8, 0, 50).toArray();
        INDArray w = of(new double[] {1, 1, 0, 1, 1, 0, 1, 1}, 8);
        CrossEntropy.Result r64 = CrossEntropy.forward(logits, targets, w);
        CrossEntropy.Result r32 = CrossEntropy.forward(toFloat(logits), targets, toFloat(w));
        assertClose(r64.rowLoss(), r32.rowLoss(), 1e-6, "nll");
        assertEquals(r64.weightedSum(), r32.weightedSum(), 1e-5 * Math.abs(r64.weightedSum()));
        assertClose(
                CrossEntropy.backward(logits, targets, w, 0.125),
                CrossEntropy.backward(toFloat(logits), targets, toFloat(w), 0.125),
                1e-6,
                "dlogits");
    }

    @Test
    void rejectsTargetsOutsideTheVocabulary() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> CrossEntropy.forward(LOGITS, new int[] {0, 4, 1}, null));
        assertTrue(
                e.getMessage().contains("target 4 at row 1") && e.getMessage().contains("[0, 4)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CrossEntropy.forward(LOGITS, new int[] {0, 1}, null));
    }
}
