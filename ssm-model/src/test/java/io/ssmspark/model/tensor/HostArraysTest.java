package io.ssmspark.model.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class HostArraysTest {

    @Test
    void valuesGoInAndComeOutInCOrderForBothTypes() {
        float[] f = {1.5f, -2f, 3.25f, 4f, 5f, 6f};
        INDArray a = HostArrays.of(f, 2, 3);
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertEquals(Nd4j.createFromArray(f).reshape(2, 3), a);
        assertArrayEquals(f, HostArrays.floats(a));
        double[] d = {Math.PI, -1e-300, 7};
        INDArray b = HostArrays.of(d);
        assertEquals(Nd4j.createFromArray(d), b);
        assertArrayEquals(d, HostArrays.doubles(b));
        assertEquals(0, HostArrays.floats(HostArrays.of(new float[0])).length);
    }

    @Test
    void viewsAreReadFromTheirOwnOffsetAndStrides() {
        INDArray base = Nd4j.arange(24).castTo(DataType.FLOAT).reshape(4, 6);
        INDArray row = base.get(NDArrayIndex.point(2), NDArrayIndex.all()); // dense, offset 12
        assertArrayEquals(new float[] {12, 13, 14, 15, 16, 17}, HostArrays.floats(row));
        INDArray column = base.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 3)); // strided
        assertArrayEquals(new float[] {1, 2, 7, 8, 13, 14, 19, 20}, HostArrays.floats(column));
    }

    @Test
    void arraysMadeInsideAScratchScopeHoldTheirOwnValues() {
        for (int round = 0; round < 2; round++) {
            try (Scratch ignored = Scratch.openStep()) {
                INDArray before = Nd4j.ones(DataType.FLOAT, 100);
                float[] values = {9, 8, 7};
                INDArray a = HostArrays.of(values);
                INDArray after = Nd4j.ones(DataType.FLOAT, 100);
                assertArrayEquals(values, HostArrays.floats(a));
                assertEquals(Nd4j.createFromArray(values), a);
                assertEquals(100.0, before.sumNumber().doubleValue() + 0 * after.length(), 0.0);
                assertEquals(100.0, after.sumNumber().doubleValue(), 0.0);
            }
        }
    }

    @Test
    void aWrongShapeOrTypeIsRefusedByName() {
        IllegalArgumentException shape =
                assertThrows(IllegalArgumentException.class, () -> HostArrays.of(new float[5], 2, 3));
        assertTrue(shape.getMessage().contains("5 values cannot have shape [2, 3]"), shape.getMessage());
        IllegalArgumentException type =
                assertThrows(IllegalArgumentException.class, () -> HostArrays.floats(Nd4j.zeros(DataType.DOUBLE, 3)));
        assertTrue(type.getMessage().contains("FLOAT"), type.getMessage());
    }
}
