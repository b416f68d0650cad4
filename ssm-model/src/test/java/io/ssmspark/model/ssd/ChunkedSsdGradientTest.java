package io.ssmspark.model.ssd;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.ssmspark.model.testing.FiniteDifferenceCheck;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * fp64 finite-difference checks of the chunked backward for every input and the initial state:
 * ℓ = Σ y∘R_y + Σ S_T∘R_S with fixed random R, central differences with h = 1e-6.
 */
class ChunkedSsdGradientTest {
    static final double H_STEP = 1e-6, TOL = 1e-6;
    static final int ENTRIES_PER_TENSOR = 24;

    @ParameterizedTest(name = "T={0} Q={1} G={2} D per channel={3} chunks/block={4}")
    @CsvSource({"11, 4, 2, false, 1", "11, 4, 1, true, 2", "16, 16, 2, true, 8", "9, 3, 4, false, 8"})
    void analyticGradientsMatchFiniteDifferences(int T, int Q, int G, boolean dPerChannel, int chunksPerBlock) {
        SsdInputs in = SsdTestData.inputs(31L * T + G, 2, T, 4, 3, G, 4, dPerChannel, DataType.DOUBLE);
        SsdDims d = in.dims();
        INDArray s0 = SsdTestData.state(3, d);
        Random r = new Random(99);
        INDArray ry = SsdTestData.uniform(r, -1, 1, in.x().shape());
        INDArray rs = SsdTestData.uniform(r, -1, 1, d.stateShape());

        SsdGradients g = ChunkedSsd.backward(in, Q, s0, ry, rs, chunksPerBlock);
        assertNotNull(g.dD());

        Function<Inputs, Double> loss = v -> {
            SsdResult out = ChunkedSsd.forward(v.in, Q, v.s0, chunksPerBlock);
            return out.y().mul(ry).sumNumber().doubleValue()
                    + out.finalState().mul(rs).sumNumber().doubleValue();
        };
        Inputs base = new Inputs(in, s0);
        check("dx", g.dx(), base, v -> v.in.x(), loss);
        check("ddt", g.ddt(), base, v -> v.in.dt(), loss);
        check("dA", g.dA(), base, v -> v.in.A(), loss);
        check("dB", g.dB(), base, v -> v.in.B(), loss);
        check("dC", g.dC(), base, v -> v.in.C(), loss);
        check("dD", g.dD(), base, v -> v.in.D(), loss);
        check("dInitialState", g.dInitialState(), base, v -> v.s0, loss);
    }

    record Inputs(SsdInputs in, INDArray s0) {}

    /** Compares analytic against central differences on up to ENTRIES_PER_TENSOR entries. */
    static void check(
            String name,
            INDArray analytic,
            Inputs base,
            Function<Inputs, INDArray> tensor,
            Function<Inputs, Double> loss) {
        INDArray target = tensor.apply(base);
        long[] entries =
                FiniteDifferenceCheck.entries(target.length(), ENTRIES_PER_TENSOR, new Random(name.hashCode()));
        FiniteDifferenceCheck.check(name, target, analytic, entries, () -> loss.apply(base), H_STEP, TOL);
    }
}
