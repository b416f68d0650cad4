package io.ssmspark.model.ssd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SsdStepTest {

    /** Steps token by token from a random initial state; every y_t and the final state must match the loop. */
    private static void checkAgainstRecurrence(
            int batch, int T, int H, int P, int G, int N, boolean dPerChannel, DataType dtype, double tol) {
        SsdInputs in = SsdTestData.inputs(11, batch, T, H, P, G, N, dPerChannel, dtype);
        INDArray s0 = SsdTestData.state(12, in.dims());
        SsdResult ref = SsdReference.recurrence(in, s0);
        INDArray state = s0.dup('c');
        for (int t = 0; t < T; t++) {
            INDArray y = SsdStep.step(
                    in.x().get(all(), point(t), all(), all()),
                    in.dt().get(all(), point(t), all()),
                    in.A(),
                    in.B().get(all(), point(t), all(), all()),
                    in.C().get(all(), point(t), all(), all()),
                    in.D(),
                    state);
            double err = SsdTestData.relErr(y, ref.y().get(all(), point(t), all(), all()));
            assertTrue(err < tol, "y at t=" + t + ": relative error " + err);
        }
        double stateErr = SsdTestData.relErr(state, ref.finalState());
        assertTrue(stateErr < tol, "final state: relative error " + stateErr);
    }

    @Test
    void fp64StepsEqualTheRecurrencePerHeadD() {
        checkAgainstRecurrence(2, 7, 4, 3, 1, 5, false, DataType.DOUBLE, 1e-12);
    }

    @Test
    void fp64StepsEqualTheRecurrenceWithGroupsAndPerChannelD() {
        checkAgainstRecurrence(3, 6, 6, 2, 3, 4, true, DataType.DOUBLE, 1e-12);
    }

    @Test
    void fp32StepsEqualTheRecurrence() {
        checkAgainstRecurrence(2, 9, 4, 4, 2, 8, true, DataType.FLOAT, 1e-5);
    }

    @Test
    void oneStepByHandMatchesTheFormula() {
        // H = 1, P = 1, N = 2, G = 1: S = e^{dt·A}·S + dt·x·B, y = S·C + D·x
        INDArray state = Nd4j.createFromArray(new double[] {1.0, -2.0}).reshape(1, 1, 1, 2);
        INDArray y = SsdStep.step(
                Nd4j.createFromArray(new double[] {3.0}).reshape(1, 1, 1),
                Nd4j.createFromArray(new double[] {0.5}).reshape(1, 1),
                Nd4j.createFromArray(new double[] {-2.0}),
                Nd4j.createFromArray(new double[] {1.0, 4.0}).reshape(1, 1, 2),
                Nd4j.createFromArray(new double[] {2.0, 1.0}).reshape(1, 1, 2),
                Nd4j.createFromArray(new double[] {0.25}),
                state);
        double a = Math.exp(-1.0);
        double s0 = a * 1.0 + 0.5 * 3.0 * 1.0;
        double s1 = a * -2.0 + 0.5 * 3.0 * 4.0;
        assertEquals(s0, state.getDouble(0, 0, 0, 0), 1e-14);
        assertEquals(s1, state.getDouble(0, 0, 0, 1), 1e-14);
        assertEquals(2 * s0 + s1 + 0.25 * 3.0, y.getDouble(0, 0, 0), 1e-14);
    }

    @Test
    void aStateOfTheWrongShapeIsRefusedNamingIt() {
        SsdInputs in = SsdTestData.inputs(1, 2, 1, 4, 3, 2, 5, false, DataType.DOUBLE);
        INDArray badState = Nd4j.zeros(DataType.DOUBLE, 2, 4, 3, 4);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> SsdStep.step(
                        in.x().get(all(), point(0), all(), all()),
                        in.dt().get(all(), point(0), all()),
                        in.A(),
                        in.B().get(all(), point(0), all(), all()),
                        in.C().get(all(), point(0), all(), all()),
                        in.D(),
                        badState));
        assertTrue(
                e.getMessage().contains("state")
                        && e.getMessage().contains("[2, 4, 3, 5]")
                        && e.getMessage().contains("[2, 4, 3, 4]"),
                e.getMessage());
    }
}
