package io.ssmspark.model.ssd;

import static io.ssmspark.model.ssd.SsdTestData.relErr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Recurrence == quadratic == chunked (DESIGN.md "SSD": three forms that must agree). */
class SsdFormsAgreeTest {
    static final double FP64_TOL = 1e-10, FP32_TOL = 1e-4;

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (int T : new int[] {1, 63, 64, 65, 257, 1000}) {
            for (int G : new int[] {1, 2}) {
                for (boolean withState : new boolean[] {false, true}) {
                    s.add(Arguments.of(T, G, withState));
                }
            }
        }
        return s.build();
    }

    @ParameterizedTest(name = "T={0} G={1} initialState={2}")
    @MethodSource("cases")
    void recurrenceQuadraticAndChunkedAgree(int T, int G, boolean withState) {
        SsdInputs in = SsdTestData.inputs(1000L * T + 10L * G, 2, T, 4, 3, G, 5, G == 2, DataType.DOUBLE);
        INDArray s0 = withState ? SsdTestData.state(7, in.dims()) : null;
        SsdResult rec = SsdReference.recurrence(in, s0);
        SsdResult quad = SsdReference.quadratic(in, s0);
        assertClose("quadratic y", quad.y(), rec.y(), FP64_TOL);
        assertClose("quadratic final state", quad.finalState(), rec.finalState(), FP64_TOL);

        for (int Q : new int[] {1, 16, 64, Math.max(T, 2) + 3}) {
            SsdResult c64 = ChunkedSsd.forward(in, Q, s0);
            String at = " (Q=" + Q + ", fp64)";
            assertArrayEquals(rec.y().shape(), c64.y().shape());
            assertClose("chunked y" + at, c64.y(), rec.y(), FP64_TOL);
            assertClose("chunked final state" + at, c64.finalState(), rec.finalState(), FP64_TOL);
            assertClose("log-decay" + at, c64.logDecay(), rec.logDecay(), FP64_TOL);

            SsdInputs in32 = SsdTestData.cast(in, DataType.FLOAT);
            SsdResult c32 = ChunkedSsd.forward(in32, Q, s0 == null ? null : s0.castTo(DataType.FLOAT));
            assertTrue(c32.y().dataType() == DataType.FLOAT);
            assertClose("chunked y (Q=" + Q + ", fp32)", c32.y(), rec.y(), FP32_TOL);
            assertClose("chunked final state (Q=" + Q + ", fp32)", c32.finalState(), rec.finalState(), FP32_TOL);
        }
    }

    @ParameterizedTest(name = "chunks per block = {0}")
    @MethodSource("blockSizes")
    void blockSizeDoesNotChangeTheResult(int maxChunksPerBlock) {
        SsdInputs in = SsdTestData.inputs(5, 2, 203, 4, 3, 2, 5, false, DataType.DOUBLE);
        INDArray s0 = SsdTestData.state(8, in.dims());
        SsdResult rec = SsdReference.recurrence(in, s0);
        SsdResult blocked = ChunkedSsd.forward(in, 16, s0, maxChunksPerBlock);
        assertClose("y", blocked.y(), rec.y(), FP64_TOL);
        assertClose("final state", blocked.finalState(), rec.finalState(), FP64_TOL);
    }

    static Stream<Integer> blockSizes() {
        return Stream.of(1, 2, 5, 13);
    }

    static void assertClose(String what, INDArray actual, INDArray expected, double tol) {
        double e = relErr(actual, expected);
        assertTrue(e <= tol, what + ": relative error " + e + " > " + tol);
    }
}
