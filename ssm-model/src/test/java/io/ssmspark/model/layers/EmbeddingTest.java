package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.assertValues;
import static io.ssmspark.model.layers.TestArrays.of;
import static io.ssmspark.model.layers.TestArrays.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class EmbeddingTest {

    private static final INDArray W = of(new double[] {0, 1, 10, 11, 20, 21, 30, 31}, 4, 2);

    @Test
    void forwardPicksRowsForIntArraysAndIntTensors() {
        assertValues(new double[] {20, 21, 0, 1, 20, 21}, Embedding.forward(W, new int[] {2, 0, 2}), 0, "rows");
        INDArray ids = Nd4j.createFromArray(new int[] {3, 1});
        assertValues(new double[] {30, 31, 10, 11}, Embedding.forward(W, ids), 0, "rows from INT tensor");
        INDArray f = Embedding.forward(W.castTo(DataType.FLOAT), new int[] {1});
        assertEquals(DataType.FLOAT, f.dataType());
        assertValues(new double[] {10, 11}, f, 0, "float rows");
    }

    @Test
    void backwardScatterAddsAndRepeatedIdsAccumulate() {
        INDArray dW = W.like().assign(0.5);
        INDArray dy = of(new double[] {1, 2, 3, 4, 5, 6, 7, 8}, 4, 2);
        Embedding.backward(new int[] {2, 0, 2, 2}, dy, dW);
        // row 2 gets rows 0, 2 and 3 of dy; row 0 gets row 1; rows 1 and 3 keep 0.5
        assertValues(new double[] {3.5, 4.5, 0.5, 0.5, 13.5, 16.5, 0.5, 0.5}, dW, 0, "dW");
    }

    @Test
    void manyRepeatsOfOneIdAllLand() {
        int n = 50_000;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i % 2;
        }
        INDArray dW = Nd4j.zeros(DataType.DOUBLE, 3, 4);
        Embedding.backward(ids, Nd4j.ones(DataType.DOUBLE, n, 4), dW);
        assertValues(
                new double[] {25_000, 25_000, 25_000, 25_000, 25_000, 25_000, 25_000, 25_000, 0, 0, 0, 0}, dW, 0, "dW");
    }

    @Test
    void gradientMatchesFiniteDifferencesThroughTiedHead() {
        // logits = Linear(Embedding(ids), W): W receives both the embedding and the head gradient
        Random rnd = new Random(21);
        INDArray w = randn(rnd, 6, 3);
        int[] ids = {4, 1, 4, 0, 5};
        INDArray r = randn(rnd, 5, 6);
        INDArray h = Embedding.forward(w, ids);
        INDArray dW = Nd4j.zeros(DataType.DOUBLE, 6, 3);
        INDArray dh = Linear.backward(h, w, r, dW, null);
        Embedding.backward(ids, dh, dW);
        GradCheck.check(
                "tied weight", w, dW, () -> GradCheck.dot(Linear.forward(Embedding.forward(w, ids), w, null), r), 1);
    }

    @Test
    void floatBackwardAgreesWithDouble() {
        Random rnd = new Random(22);
        int[] ids = {3, 3, 0, 7, 3, 1};
        INDArray dy = randn(rnd, 6, 5);
        INDArray dW64 = Nd4j.zeros(DataType.DOUBLE, 8, 5);
        INDArray dW32 = Nd4j.zeros(DataType.FLOAT, 8, 5);
        Embedding.backward(ids, dy, dW64);
        Embedding.backward(ids, dy.castTo(DataType.FLOAT), dW32);
        TestArrays.assertClose(dW64, dW32, 1e-7, "dW fp32");
    }

    @Test
    void rejectsOutOfRangeIdsNamingThePosition() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Embedding.forward(W, new int[] {1, 4}));
        assertTrue(
                e.getMessage().contains("token id 4 at position 1")
                        && e.getMessage().contains("[0, 4)"),
                e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> Embedding.backward(new int[] {-1}, of(new double[] {1, 1}, 1, 2), W.like()));
    }
}
