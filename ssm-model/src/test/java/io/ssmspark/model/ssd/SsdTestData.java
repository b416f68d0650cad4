package io.ssmspark.model.ssd;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Seeded random SSD problems for the tests. */
final class SsdTestData {
    private SsdTestData() {}

    static INDArray uniform(Random r, double lo, double hi, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * r.nextDouble();
        }
        return Nd4j.createFromArray(v).reshape(shape);
    }

    /** x, B, C ~ U(−1, 1); dt ~ U(dtLo, dtHi); A ~ U(−1.5, −0.2); D ~ U(−1, 1), per channel if asked. */
    static SsdInputs inputs(
            long seed, int batch, int T, int H, int P, int G, int N, boolean dPerChannel, DataType dtype) {
        return inputs(seed, batch, T, H, P, G, N, dPerChannel, dtype, 0.05, 0.6);
    }

    static SsdInputs inputs(
            long seed,
            int batch,
            int T,
            int H,
            int P,
            int G,
            int N,
            boolean dPerChannel,
            DataType dtype,
            double dtLo,
            double dtHi) {
        Random r = new Random(seed);
        return new SsdInputs(
                uniform(r, -1, 1, batch, T, H, P).castTo(dtype),
                uniform(r, dtLo, dtHi, batch, T, H).castTo(dtype),
                uniform(r, -1.5, -0.2, H).castTo(dtype),
                uniform(r, -1, 1, batch, T, G, N).castTo(dtype),
                uniform(r, -1, 1, batch, T, G, N).castTo(dtype),
                uniform(r, -1, 1, dPerChannel ? (long) H * P : H).castTo(dtype));
    }

    static INDArray state(long seed, SsdDims d) {
        return uniform(new Random(seed), -1, 1, d.stateShape()).castTo(d.dtype());
    }

    static SsdInputs cast(SsdInputs in, DataType dtype) {
        return new SsdInputs(
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
