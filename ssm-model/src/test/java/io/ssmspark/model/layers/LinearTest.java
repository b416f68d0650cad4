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
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class LinearTest {

    @Test
    void forwardAndBackwardMatchHandComputedValues() {
        INDArray x = of(new double[] {1, 2, 3, 4}, 2, 2);
        INDArray w = of(new double[] {1, 0, 0, 1, 1, 1}, 3, 2);
        INDArray b = of(new double[] {0.5, -1, 2}, 3);
        assertValues(new double[] {1.5, 1, 5, 3.5, 3, 9}, Linear.forward(x, w, b), 0, "y");

        INDArray dy = of(new double[] {1, 0, 1, 0, 1, 0}, 2, 3);
        INDArray dW = w.like().assign(1.0);
        INDArray dB = b.like().assign(1.0);
        INDArray dx = Linear.backward(x, w, dy, dW, dB);
        assertValues(new double[] {2, 1, 0, 1}, dx, 0, "dx");
        // accumulated onto the ones already there: dW = 1 + dyᵀx, db = 1 + column sums
        assertValues(new double[] {2, 3, 4, 5, 2, 3}, dW, 0, "dW");
        assertValues(new double[] {2, 2, 2}, dB, 0, "db");
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random rnd = new Random(11);
        INDArray x = randn(rnd, 5, 4);
        INDArray w = randn(rnd, 3, 4);
        INDArray b = randn(rnd, 3);
        INDArray r = randn(rnd, 5, 3);
        INDArray dW0 = randn(rnd, 3, 4);
        INDArray dB0 = randn(rnd, 3);
        INDArray dW = dW0.dup();
        INDArray dB = dB0.dup();
        INDArray dx = Linear.backward(x, w, r, dW, dB);
        java.util.function.DoubleSupplier loss = () -> GradCheck.dot(Linear.forward(x, w, b), r);
        GradCheck.check("x", x, dx, loss, 1);
        GradCheck.check("weight", w, dW.sub(dW0), loss, 2);
        GradCheck.check("bias", b, dB.sub(dB0), loss, 3);
    }

    @Test
    void floatAgreesWithDouble() {
        Random rnd = new Random(12);
        INDArray x = randn(rnd, 7, 16);
        INDArray w = randn(rnd, 9, 16);
        INDArray b = randn(rnd, 9);
        INDArray dy = randn(rnd, 7, 9);
        INDArray y64 = Linear.forward(x, w, b);
        INDArray y32 = Linear.forward(toFloat(x), toFloat(w), toFloat(b));
        assertEquals(DataType.FLOAT, y32.dataType());
        assertClose(y64, y32, 1e-6, "y fp32");
        INDArray dW64 = w.like();
        INDArray dW32 = toFloat(w.like());
        INDArray dx64 = Linear.backward(x, w, dy, dW64, null);
        INDArray dx32 = Linear.backward(toFloat(x), toFloat(w), toFloat(dy), dW32, null);
        assertClose(dx64, dx32, 1e-6, "dx fp32");
        assertClose(dW64, dW32, 1e-6, "dW fp32");
    }

    /** Parameters and gradient accumulators as views at an offset of one flat buffer; x a column slice. */
    @Test
    void worksOnViewsOfFlatBuffers() {
        Random rnd = new Random(13);
        INDArray params = randn(rnd, 40);
        INDArray grads = randn(rnd, 40);
        INDArray w = params.get(interval(7, 19)).reshape(3, 4);
        INDArray gW = grads.get(interval(7, 19)).reshape(3, 4);
        INDArray gWBefore = gW.dup();
        INDArray gradsBefore = grads.dup();
        INDArray wide = randn(rnd, 5, 9);
        INDArray x = wide.get(all(), interval(2, 6));
        INDArray dy = randn(rnd, 5, 3);
        assertClose(Linear.forward(x.dup(), w.dup(), null), Linear.forward(x, w, null), 1e-15, "y on views");
        INDArray expectedDw = gWBefore.add(dy.transpose().mmul(x.dup()));
        INDArray dx = Linear.backward(x, w, dy, gW, null);
        assertClose(dy.mmul(w.dup()), dx, 1e-15, "dx on views");
        assertClose(expectedDw, grads.get(interval(7, 19)).reshape(3, 4), 1e-15, "dW lands in the flat buffer");
        assertEquals(gradsBefore.get(interval(0, 7)), grads.get(interval(0, 7)), "entries before the view untouched");
        assertEquals(
                gradsBefore.get(interval(19, 40)), grads.get(interval(19, 40)), "entries after the view untouched");
    }

    @Test
    void rejectsMismatchedShapesNamingTheTensor() {
        INDArray x = of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        INDArray w = of(new double[] {1, 2, 3, 4}, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Linear.forward(x, w, null));
        assertTrue(
                e.getMessage().contains("'weight'")
                        && e.getMessage().contains("[2, 3]")
                        && e.getMessage().contains("[2, 2]"),
                e.getMessage());
        INDArray w23 = of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertThrows(IllegalArgumentException.class, () -> Linear.forward(x, w23, toFloat(of(new double[] {1, 2}, 2))));
    }
}
