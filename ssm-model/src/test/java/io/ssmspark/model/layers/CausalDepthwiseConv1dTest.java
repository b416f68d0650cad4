package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.assertClose;
import static io.ssmspark.model.layers.TestArrays.assertValues;
import static io.ssmspark.model.layers.TestArrays.of;
import static io.ssmspark.model.layers.TestArrays.randn;
import static io.ssmspark.model.layers.TestArrays.toFloat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CausalDepthwiseConv1dTest {

    // two channels, K = 2: w[c, 1] multiplies the current token, w[c, 0] the previous one
    private static final INDArray X = of(new double[] {1, -1, 2, 0, 3, 1}, 1, 3, 2);
    private static final INDArray W = of(new double[] {0.5, 2, 1, -1}, 2, 2);
    private static final INDArray BIAS = of(new double[] {1, 0}, 2);

    @Test
    void kernelTwoOnThreeStepsMatchesHandValues() {
        // channel 0: 1 + 0.5·x[t−1] + 2·x[t] over x = 1, 2, 3 -> 3, 5.5, 8
        // channel 1: x[t−1] − x[t] over x = −1, 0, 1 -> 1, −1, −1
        assertValues(new double[] {3, 1, 5.5, -1, 8, -1}, CausalDepthwiseConv1d.forward(X, W, BIAS, null), 0, "y");
        INDArray prev = of(new double[] {10, 4}, 1, 1, 2);
        assertValues(
                new double[] {8, 5, 5.5, -1, 8, -1},
                CausalDepthwiseConv1d.forward(X, W, BIAS, prev),
                0,
                "y with prev rows");
    }

    @Test
    void backwardMatchesHandValues() {
        INDArray dy = of(new double[] {1, 0, 0, 0, 0, 1}, 1, 3, 2);
        INDArray dW = Nd4j.zeros(W.dataType(), 2, 2);
        INDArray dB = Nd4j.zeros(W.dataType(), 2);
        CausalDepthwiseConv1d.Gradients g = CausalDepthwiseConv1d.backward(X, W, null, dy, dW, dB);
        // channel 0: only y[0] has gradient 1 -> dx[0] = w[0,1] = 2, dprev = w[0,0] = 0.5
        // channel 1: only y[2] -> dx[2] = w[1,1] = −1, dx[1] = w[1,0] = 1
        assertValues(new double[] {2, 0, 0, 1, 0, -1}, g.dx(), 0, "dx");
        assertValues(new double[] {0.5, 0}, g.dPrev(), 0, "dprev");
        // dw[0] = [prev·1, x0·1] = [0, 1]; dw[1] = [x1, x2] of channel 1 = [0, 1]
        assertValues(new double[] {0, 1, 0, 1}, dW, 0, "dw");
        assertValues(new double[] {1, 1}, dB, 0, "dbias");
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random rnd = new Random(41);
        int k = 4;
        INDArray x = randn(rnd, 2, 5, 3);
        INDArray w = randn(rnd, 3, k);
        INDArray bias = randn(rnd, 3);
        INDArray prev = randn(rnd, 2, k - 1, 3);
        INDArray r = randn(rnd, 2, 5, 3);
        INDArray dW0 = randn(rnd, 3, k);
        INDArray dB0 = randn(rnd, 3);
        INDArray dW = dW0.dup();
        INDArray dB = dB0.dup();
        CausalDepthwiseConv1d.Gradients g = CausalDepthwiseConv1d.backward(x, w, prev, r, dW, dB);
        DoubleSupplier loss = () -> GradCheck.dot(CausalDepthwiseConv1d.forward(x, w, bias, prev), r);
        GradCheck.check("x", x, g.dx(), loss, 1);
        GradCheck.check("prev", prev, g.dPrev(), loss, 2);
        GradCheck.check("weight", w, dW.sub(dW0), loss, 3);
        GradCheck.check("bias", bias, dB.sub(dB0), loss, 4);
    }

    @Test
    void segmentsWithCarriedRowsEqualTheWholeSequence() {
        Random rnd = new Random(42);
        int k = 4;
        INDArray x = randn(rnd, 2, 9, 5);
        INDArray w = randn(rnd, 5, k);
        INDArray bias = randn(rnd, 5);
        INDArray whole = CausalDepthwiseConv1d.forward(x, w, bias, null);
        // uneven cuts, including segments shorter than K−1 = 3 (their carry mixes rows of earlier segments)
        for (int[] cuts : new int[][] {{4, 9}, {1, 3, 4, 9}, {2, 7, 8, 9}}) {
            INDArray prev = null;
            int start = 0;
            for (int end : cuts) {
                INDArray part = x.get(all(), interval(start, end), all()).dup();
                INDArray y = CausalDepthwiseConv1d.forward(part, w, bias, prev);
                assertClose(
                        whole.get(all(), interval(start, end), all()),
                        y,
                        1e-15,
                        "segment [" + start + ", " + end + ")");
                prev = CausalDepthwiseConv1d.carryRows(prev, part, k);
                start = end;
            }
            assertClose(x.get(all(), interval(9 - (k - 1), 9), all()), prev, 0, "final carry = last K−1 rows");
        }
    }

    /** The checkpoint's (C, 1, K) weight reshaped to [C, K], and gradients landing in a view of a flat buffer. */
    @Test
    void worksOnCheckpointShapedViews() {
        Random rnd = new Random(44);
        INDArray flat = randn(rnd, 50);
        INDArray checkpointWeight = flat.get(interval(5, 17)).reshape(3, 1, 4);
        INDArray w = checkpointWeight.reshape(3, 4);
        INDArray grads = Nd4j.zeros(flat.dataType(), 50);
        INDArray dW = grads.get(interval(20, 32)).reshape(3, 4);
        INDArray x = randn(rnd, 2, 6, 3);
        INDArray dy = randn(rnd, 2, 6, 3);
        assertClose(
                CausalDepthwiseConv1d.forward(x, w.dup(), null, null),
                CausalDepthwiseConv1d.forward(x, w, null, null),
                0,
                "y");
        INDArray expected = Nd4j.zeros(flat.dataType(), 3, 4);
        CausalDepthwiseConv1d.backward(x, w.dup(), null, dy, expected, null);
        CausalDepthwiseConv1d.backward(x, w, null, dy, dW, null);
        assertClose(expected, grads.get(interval(20, 32)).reshape(3, 4), 0, "dw in the flat buffer");
        assertEquals(
                expected.norm2Number().doubleValue(),
                grads.norm2Number().doubleValue(),
                1e-12,
                "nothing written outside the view");
    }

    @Test
    void carryRowsOfAShortInputKeepsOlderRows() {
        INDArray prev = of(new double[] {1, 2, 3}, 1, 3, 1);
        INDArray x = of(new double[] {4}, 1, 1, 1);
        assertValues(new double[] {2, 3, 4}, CausalDepthwiseConv1d.carryRows(prev, x, 4), 0, "carry");
        assertValues(new double[] {0, 0, 4}, CausalDepthwiseConv1d.carryRows(null, x, 4), 0, "carry from zeros");
    }

    @Test
    void floatAgreesWithDouble() {
        Random rnd = new Random(43);
        INDArray x = randn(rnd, 2, 11, 6);
        INDArray w = randn(rnd, 6, 4);
        INDArray bias = randn(rnd, 6);
        INDArray prev = randn(rnd, 2, 3, 6);
        INDArray dy = randn(rnd, 2, 11, 6);
        assertClose(
                CausalDepthwiseConv1d.forward(x, w, bias, prev),
                CausalDepthwiseConv1d.forward(toFloat(x), toFloat(w), toFloat(bias), toFloat(prev)),
                1e-6,
                "y");
        INDArray dW64 = w.like();
        INDArray dW32 = toFloat(w.like());
        CausalDepthwiseConv1d.Gradients g64 = CausalDepthwiseConv1d.backward(x, w, prev, dy, dW64, null);
        CausalDepthwiseConv1d.Gradients g32 =
                CausalDepthwiseConv1d.backward(toFloat(x), toFloat(w), toFloat(prev), toFloat(dy), dW32, null);
        assertClose(g64.dx(), g32.dx(), 1e-6, "dx");
        assertClose(g64.dPrev(), g32.dPrev(), 1e-6, "dprev");
        assertClose(dW64, dW32, 1e-6, "dw");
    }

    @Test
    void rejectsPrevWithWrongRowCount() {
        INDArray prev = of(new double[] {1, 2, 3, 4}, 1, 2, 2);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> CausalDepthwiseConv1d.forward(X, W, BIAS, prev));
        assertTrue(e.getMessage().contains("'prev'") && e.getMessage().contains("[1, 1, 2]"), e.getMessage());
    }
}
