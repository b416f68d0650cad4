package io.ssmspark.model.scan;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Seeded random Mamba-1 scan problems for the tests. */
final class ScanTestData {
    private ScanTestData() {}

    static INDArray uniform(Random r, double lo, double hi, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * r.nextDouble();
        }
        return Nd4j.create(v, shape, 'c');
    }

    /**
     * x, B, C ~ U(−1, 1); dt = softplus of U(−4, 1) (about 0.02 to 1.3, as the mixer makes them); A = −exp(U(−1, 2))
     * per (channel, state), so the decays span e^−0.4 to e^−7 per unit step; D ~ U(−1, 1) (or none).
     */
    static ScanInputs inputs(long seed, int batch, int t, int d, int n, boolean withD, DataType dtype) {
        Random r = new Random(seed);
        INDArray pre = uniform(r, -4, 1, batch, t, d);
        INDArray dt = org.nd4j.linalg.ops.transforms.Transforms.log(
                org.nd4j.linalg.ops.transforms.Transforms.exp(pre, true).addi(1.0), false);
        return new ScanInputs(
                uniform(r, -1, 1, batch, t, d).castTo(dtype),
                dt.castTo(dtype),
                org.nd4j.linalg.ops.transforms.Transforms.exp(uniform(r, -1, 2, d, n), false)
                        .negi()
                        .castTo(dtype),
                uniform(r, -1, 1, batch, t, n).castTo(dtype),
                uniform(r, -1, 1, batch, t, n).castTo(dtype),
                withD ? uniform(r, -1, 1, d).castTo(dtype) : null);
    }

    static INDArray state(long seed, ScanInputs in) {
        return uniform(new Random(seed), -1, 1, in.stateShape()).castTo(in.dtype());
    }

    static ScanInputs cast(ScanInputs in, DataType dtype) {
        return new ScanInputs(
                in.x().castTo(dtype),
                in.dt().castTo(dtype),
                in.A().castTo(dtype),
                in.B().castTo(dtype),
                in.C().castTo(dtype),
                in.D() == null ? null : in.D().castTo(dtype));
    }

    /** max|a − b| / max|b|, computed in double. */
    static double relErr(INDArray actual, INDArray expected) {
        INDArray a = actual.castTo(DataType.DOUBLE), e = expected.castTo(DataType.DOUBLE);
        double scale = Math.max(e.amaxNumber().doubleValue(), 1e-300);
        return a.sub(e).amaxNumber().doubleValue() / scale;
    }
}
