package io.ssmspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Test helpers: seeded random tensors and norm-wise comparisons. */
final class TestArrays {

    private TestArrays() {}

    /** Standard-normal entries times {@code scale}, from a seeded java.util.Random (reproducible). */
    static INDArray randn(Random rnd, double scale, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        double[] data = new double[(int) n];
        for (int i = 0; i < n; i++) {
            data[i] = scale * rnd.nextGaussian();
        }
        return Nd4j.create(data, shape, 'c');
    }

    static INDArray randn(Random rnd, long... shape) {
        return randn(rnd, 1.0, shape);
    }

    static INDArray of(double[] data, long... shape) {
        return Nd4j.create(data, shape, 'c');
    }

    static INDArray toFloat(INDArray a) {
        return a == null ? null : a.castTo(DataType.FLOAT);
    }

    /** ‖expected − actual‖ / max(‖expected‖, 1e-30) ≤ relTol, compared in fp64, with equal shapes. */
    static void assertClose(INDArray expected, INDArray actual, double relTol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        INDArray e = expected.castTo(DataType.DOUBLE);
        INDArray a = actual.castTo(DataType.DOUBLE);
        double err =
                e.sub(a).norm2Number().doubleValue() / Math.max(e.norm2Number().doubleValue(), 1e-30);
        assertTrue(err <= relTol, what + ": relative error " + err + " > " + relTol);
    }

    /** Element-wise |expected − actual| ≤ tol. */
    static void assertValues(double[] expected, INDArray actual, double tol, String what) {
        double[] got = actual.castTo(DataType.DOUBLE).ravel().toDoubleVector();
        assertTrue(
                expected.length == got.length, what + ": expected " + expected.length + " values, got " + got.length);
        for (int i = 0; i < got.length; i++) {
            assertTrue(
                    Math.abs(expected[i] - got[i]) <= tol,
                    what + "[" + i + "]: expected " + expected[i] + " but found " + got[i]);
        }
    }
}
