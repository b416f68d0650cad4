package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Matrix copies any layout of an INDArray's values in C order, and back. */
class MatrixTest {
    /** [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] */
    private static INDArray grid(DataType type) {
        return Nd4j.arange(12).castTo(type).reshape(3, 4);
    }

    @Test
    void readsDenseArraysViewsAndOtherOrdersInCOrder() {
        assertArrayEquals(
                new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Matrix.of(grid(DataType.FLOAT), 3, 4).floats);
        assertArrayEquals(
                new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                Matrix.of(grid(DataType.FLOAT).dup('f'), 3, 4).floats);
        assertArrayEquals(
                new float[] {1, 2, 5, 6, 9, 10},
                Matrix.of(grid(DataType.FLOAT).get(all(), interval(1, 3)), 3, 2).floats);
        assertArrayEquals(
                new float[] {4, 5, 6, 7, 8, 9, 10, 11},
                Matrix.of(grid(DataType.FLOAT).get(interval(1, 3), all()), 2, 4).floats);
        assertArrayEquals(
                new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11},
                Matrix.of(grid(DataType.FLOAT).permute(1, 0), 4, 3).floats);
        Matrix d = Matrix.of(grid(DataType.DOUBLE).reshape(2, 3, 2), 6, 2);
        assertNull(d.floats);
        assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, d.doubles);
        assertEquals(96, d.bytes());
    }

    @Test
    void refusesAWrongSizeOrDtype() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Matrix.of(grid(DataType.FLOAT), 2, 4));
        assertEquals("matrix of 2 x 4: expected 8 values but the array has 12", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Matrix.of(grid(DataType.INT), 3, 4));
        assertEquals("matrix: expected dtype FLOAT or DOUBLE but found INT", e.getMessage());
    }

    @Test
    void roundTripsThroughNd4j() {
        Matrix m = Matrix.of(grid(DataType.FLOAT).get(all(), interval(1, 3)), 3, 2);
        INDArray back = m.toNd4j(3, 2);
        assertEquals(grid(DataType.FLOAT).get(all(), interval(1, 3)), back);
        assertEquals(0, Matrix.of(Nd4j.create(DataType.FLOAT, 0, 4), 0, 4).floats.length);
    }
}
