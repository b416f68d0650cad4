package io.ssmspark.model.ssd;

import static io.ssmspark.model.ssd.SsdFormsAgreeTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ChunkedSsdRobustnessTest {

    /** T = 10^6 in fp32 with Σ dt·A = −1e4: finite, and equal to the fp64 recurrence. */
    @Test
    void millionTokensInFp32StayFiniteAndExact() {
        int T = 1_000_000;
        Random r = new Random(1);
        SsdInputs in = new SsdInputs(
                SsdTestData.uniform(r, -1, 1, 1, T, 2, 4),
                Nd4j.valueArrayOf(new long[] {1, T, 2}, 0.01, DataType.DOUBLE),
                Nd4j.createFromArray(-1.0, -1.0),
                SsdTestData.uniform(r, -1, 1, 1, T, 1, 4),
                SsdTestData.uniform(r, -1, 1, 1, T, 1, 4),
                Nd4j.createFromArray(0.5, -0.5));
        SsdResult reference = SsdReference.recurrence(in, null);
        assertClose(
                "total log-decay reaches -1e4",
                reference.logDecay(),
                Nd4j.valueArrayOf(new long[] {1, 2}, -1e4, DataType.DOUBLE),
                1e-9);

        SsdResult out = ChunkedSsd.forward(SsdTestData.cast(in, DataType.FLOAT), 64, null);
        assertFalse(out.y().isInfinite().any() || out.y().isNaN().any(), "y has NaN or Inf");
        assertFalse(
                out.finalState().isNaN().any() || out.finalState().isInfinite().any(), "state has NaN or Inf");
        assertClose("y", out.y(), reference.y(), 1e-4);
        assertClose("final state", out.finalState(), reference.finalState(), 1e-4);
        assertTrue(out.summary().alpha().getDouble(0) == 0.0, "α = exp(-1e4) underflows to exactly 0");
    }

    @Test
    void mismatchedShapesNameTheArgumentAndBothShapes() {
        SsdInputs ok = SsdTestData.inputs(1, 1, 8, 4, 2, 2, 3, false, DataType.DOUBLE);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new SsdInputs(ok.x(), Nd4j.zeros(DataType.DOUBLE, 1, 7, 4), ok.A(), ok.B(), ok.C(), ok.D()));
        assertTrue(
                e.getMessage().contains("dt")
                        && e.getMessage().contains("[1, 7, 4]")
                        && e.getMessage().contains("[1, 8, 4]")
                        && e.getMessage().contains("[1, 8, 4, 2]"),
                e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class,
                () -> new SsdInputs(
                        ok.x(),
                        ok.dt(),
                        ok.A(),
                        Nd4j.zeros(DataType.DOUBLE, 1, 8, 3, 3),
                        Nd4j.zeros(DataType.DOUBLE, 1, 8, 3, 3),
                        ok.D()));
        assertTrue(
                e.getMessage().contains("H = 4")
                        && e.getMessage().contains("G = 3")
                        && e.getMessage().contains("[1, 8, 4, 2]")
                        && e.getMessage().contains("[1, 8, 3, 3]"),
                e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class,
                () -> new SsdInputs(ok.x(), ok.dt(), ok.A(), ok.B(), Nd4j.zeros(DataType.DOUBLE, 1, 8, 2, 4), ok.D()));
        assertTrue(
                e.getMessage().startsWith("C must have shape [1, 8, 2, 3]")
                        && e.getMessage().contains("[1, 8, 2, 4]"),
                e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class,
                () -> new SsdInputs(ok.x(), ok.dt(), ok.A(), ok.B(), ok.C(), Nd4j.zeros(DataType.DOUBLE, 5)));
        assertTrue(
                e.getMessage().contains("D must have shape [4] or [8]")
                        && e.getMessage().contains("[5]"),
                e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class,
                () -> new SsdInputs(ok.x(), ok.dt().castTo(DataType.FLOAT), ok.A(), ok.B(), ok.C(), ok.D()));
        assertTrue(e.getMessage().contains("dt has dtype FLOAT"), e.getMessage());

        for (int q : new int[] {0, -3}) {
            e = assertThrows(IllegalArgumentException.class, () -> ChunkedSsd.forward(ok, q, null));
            assertTrue(e.getMessage().contains("chunk length Q must be positive but is " + q), e.getMessage());
        }
        INDArray badState = Nd4j.zeros(DataType.DOUBLE, 1, 4, 2, 4);
        e = assertThrows(IllegalArgumentException.class, () -> ChunkedSsd.forward(ok, 4, badState));
        assertTrue(
                e.getMessage().contains("initialState must have shape [1, 4, 2, 3]")
                        && e.getMessage().contains("[1, 4, 2, 4]"),
                e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> ChunkedSsd.backward(ok, 4, null, Nd4j.zeros(DataType.DOUBLE, 1, 8, 4, 3), null));
        assertTrue(e.getMessage().contains("dy must have shape [1, 8, 4, 2]"), e.getMessage());
    }
}
