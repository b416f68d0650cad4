package io.ssmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GradientClippingTest {
    private static final DataType[] TYPES = {DataType.DOUBLE, DataType.FLOAT};

    @Test
    void clipsToMaxNormLikeTorch() {
        for (DataType type : TYPES) {
            // ||(3, 0, -4, 12)|| = 13; scale = 2 / (13 + 1e-6)
            INDArray g = Nd4j.createFromArray(3.0, 0.0, -4.0, 12.0).castTo(type);
            ClipResult r = GradientClipping.clipGlobalNorm(g, 2.0);
            double scale = 2.0 / (13.0 + 1e-6);
            assertEquals(13.0, r.norm(), 0.0, type.toString());
            assertEquals(scale, r.scale(), 0.0);
            assertTrue(r.finite() && r.clipped());
            double[] expected = {3 * scale, 0, -4 * scale, 12 * scale};
            assertArrayEquals(
                    expected, g.castTo(DataType.DOUBLE).toDoubleVector(), type == DataType.DOUBLE ? 1e-16 : 1e-7);
            // afterwards the norm is 13 * scale = 2 * 13 / (13 + 1e-6), just under maxNorm
            assertEquals(13 * scale, GradientClipping.globalNorm(g), type == DataType.DOUBLE ? 1e-15 : 1e-6);
        }
    }

    @Test
    void leavesSmallGradientsBitForBit() {
        for (DataType type : TYPES) {
            INDArray g = Nd4j.createFromArray(0.3, -0.4).castTo(type);
            INDArray before = g.dup();
            ClipResult r = GradientClipping.clipGlobalNorm(g, 1.0);
            double x = g.getDouble(0);
            double y = g.getDouble(1);
            assertEquals(Math.sqrt(x * x + y * y), r.norm(), 1e-16); // 0.5, or 0.50000001192 from 0.3f and 0.4f
            assertEquals(1.0, r.scale(), 0.0);
            assertFalse(r.clipped());
            assertEquals(before, g);
        }
        // exactly at the threshold, torch's 1e-6 keeps the scale below 1 only by a hair: 5 / (5 + 1e-6)
        INDArray g = Nd4j.createFromArray(3.0, 4.0);
        assertEquals(5.0 / (5.0 + 1e-6), GradientClipping.clipGlobalNorm(g, 5.0).scale(), 0.0);
    }

    @Test
    void floatGradientNormIsAccumulatedInDouble() {
        // (3e30)^2 + (4e30)^2 = 2.5e61 overflows float (max 3.4e38) but not double: norm 5e30.
        INDArray g = Nd4j.createFromArray(3e30f, 4e30f);
        assertEquals(5e30, GradientClipping.globalNorm(g), 5e30 * 1e-7);
        // 4,000,000 squares of 1e-3f sum to 4.0000004 (norm 2.000000095). A float accumulator is far
        // off: ND4J's own FLOAT norm2Number() gives 1.98127 for this vector.
        INDArray small = Nd4j.valueArrayOf(new long[] {4_000_000}, 1e-3f, DataType.FLOAT);
        double exact = Math.sqrt(4_000_000 * (double) 1e-3f * (double) 1e-3f);
        assertEquals(exact, GradientClipping.globalNorm(small), exact * 1e-10);
    }

    @Test
    void normSpansSeveralChunks() {
        long n = (1L << 17) + 3; // SquareSum reads 2^16 elements at a time
        INDArray ones = Nd4j.ones(DataType.DOUBLE, n);
        ones.putScalar(n - 1, 1001.0); // the last chunk counts: 1001^2 - 1 = 1002000 more
        assertEquals(Math.sqrt(n + 1_002_000.0), GradientClipping.globalNorm(ones), 0.0);
    }

    @Test
    void nonFiniteNormIsReportedAndNotApplied() {
        for (DataType type : TYPES) {
            for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                INDArray g = Nd4j.createFromArray(100.0, bad, 3.0).castTo(type);
                INDArray before = g.dup();
                ClipResult r = GradientClipping.clipGlobalNorm(g, 1.0);
                assertFalse(r.finite(), type + " " + bad);
                assertEquals(Double.isNaN(bad) ? Double.NaN : Double.POSITIVE_INFINITY, r.norm(), 0.0);
                assertEquals(1.0, r.scale(), 0.0);
                // untouched: the finite entries were not scaled by 1 / inf = 0 or by NaN
                assertEquals(100.0, g.getDouble(0), 0.0);
                assertEquals(before.getDouble(2), g.getDouble(2), 0.0);
            }
        }
    }

    @Test
    void badArgumentsAreRefused() {
        INDArray g = Nd4j.createFromArray(1.0, 2.0);
        assertEquals(
                "maxNorm for gradient clipping must be > 0, found 0.0",
                assertThrows(IllegalArgumentException.class, () -> GradientClipping.clipGlobalNorm(g, 0.0))
                        .getMessage());
        assertEquals(
                "gradient must be FLOAT or DOUBLE, found HALF",
                assertThrows(IllegalArgumentException.class, () -> GradientClipping.globalNorm(g.castTo(DataType.HALF)))
                        .getMessage());
        assertEquals(
                "gradient must be contiguous, found stride [3]",
                assertThrows(
                                IllegalArgumentException.class,
                                () -> GradientClipping.globalNorm(
                                        Nd4j.zeros(DataType.DOUBLE, 2, 3).getColumn(0)))
                        .getMessage());
    }
}
