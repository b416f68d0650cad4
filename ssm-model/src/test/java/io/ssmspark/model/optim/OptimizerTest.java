package io.ssmspark.model.optim;

import static io.ssmspark.model.optim.AdamWTest.MASK;
import static io.ssmspark.model.optim.AdamWTest.N;
import static io.ssmspark.model.optim.AdamWTest.gradient;
import static io.ssmspark.model.optim.AdamWTest.initialParameters;
import static io.ssmspark.model.optim.AdamWTest.vector;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class OptimizerTest {
    private static final LearningRateSchedule SCHEDULE = new LearningRateSchedule(2e-2, 2e-3, 2, 5);
    private static final double MAX_NORM = 1.5;
    private static final int STEPS = 7;

    /** Clip + schedule + AdamW against the fp64 reference; most steps are clipped (asserted below). */
    private static void matchesReference(DataType type, double tolerance) {
        Optimizer optimizer =
                new Optimizer(new AdamW(vector(MASK, type), AdamWSettings.defaults()), SCHEDULE, MAX_NORM);
        ReferenceAdamW reference = new ReferenceAdamW(AdamWSettings.defaults(), MASK);
        double[] expected = initialParameters();
        INDArray params = vector(expected, type);
        int clippedSteps = 0;
        for (int k = 0; k < STEPS; k++) {
            double[] g = gradient(k);
            StepReport report = optimizer.step(params, vector(g, type));
            double norm = ReferenceAdamW.clip(g, MAX_NORM);
            reference.step(expected, g, SCHEDULE.lr(k));

            assertTrue(report.applied());
            assertEquals(k + 1, report.step());
            assertEquals(SCHEDULE.lr(k), report.lr(), 0.0);
            assertEquals(norm, report.clip().norm(), norm * tolerance, "norm at step " + k);
            clippedSteps += report.clip().clipped() ? 1 : 0;
        }
        assertTrue(clippedSteps >= 5, "the test exercises clipping, clipped " + clippedSteps);
        double[] actual = params.castTo(DataType.DOUBLE).toDoubleVector();
        for (int i = 0; i < N; i++) {
            assertEquals(
                    expected[i], actual[i], tolerance * Math.max(1, Math.abs(expected[i])), type + " element " + i);
        }
    }

    @Test
    void fp64ClippedStepsMatchReference() {
        // not bitwise: ND4J's norm reduction may add the squares in another order than the reference loop
        matchesReference(DataType.DOUBLE, 1e-13);
    }

    @Test
    void fp32ClippedStepsMatchReference() {
        matchesReference(DataType.FLOAT, 2e-6);
    }

    @Test
    void nonFiniteGradientIsSkippedAndReported() {
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            AdamW adamw = new AdamW(vector(MASK, type), AdamWSettings.defaults());
            Optimizer optimizer = new Optimizer(adamw, SCHEDULE, MAX_NORM);
            INDArray params = vector(initialParameters(), type);
            optimizer.step(params, vector(gradient(0), type));
            INDArray paramsBefore = params.dup();
            AdamWState stateBefore = adamw.state();

            double[] g = gradient(1);
            g[4] = Double.POSITIVE_INFINITY;
            StepReport report = optimizer.step(params, vector(g, type));
            assertFalse(report.applied());
            assertFalse(report.clip().finite());
            assertEquals(Double.POSITIVE_INFINITY, report.clip().norm(), 0.0);
            assertTrue(Double.isNaN(report.lr()));
            assertEquals(1, report.step());
            assertEquals(1, adamw.step());
            AdamWStateTest.assertBitwiseEqual(paramsBefore, params, type + " parameters");
            AdamWStateTest.assertBitwiseEqual(stateBefore.m(), adamw.state().m(), type + " m");
            AdamWStateTest.assertBitwiseEqual(stateBefore.v(), adamw.state().v(), type + " v");

            g[4] = Double.NaN;
            assertFalse(optimizer.step(params, vector(g, type)).applied());
            assertTrue(optimizer.step(params, vector(gradient(1), type)).applied());
            assertEquals(2, adamw.step());
        }
    }

    @Test
    void wrongGradientIsRefusedBeforeClippingTouchesIt() {
        Optimizer optimizer =
                new Optimizer(new AdamW(vector(MASK, DataType.DOUBLE), AdamWSettings.defaults()), SCHEDULE, 1e-3);
        INDArray params = vector(initialParameters(), DataType.DOUBLE);
        INDArray longer = Nd4j.ones(DataType.DOUBLE, N + 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> optimizer.step(params, longer));
        assertEquals("gradient has 12 elements but this optimizer expects 11 (shape found [12])", e.getMessage());
        assertArrayEquals(Nd4j.ones(DataType.DOUBLE, N + 1).toDoubleVector(), longer.toDoubleVector(), 0.0);
        assertEquals(
                "maxGradNorm must be > 0, found NaN",
                assertThrows(
                                IllegalArgumentException.class,
                                () -> new Optimizer(
                                        new AdamW(vector(MASK, DataType.DOUBLE), AdamWSettings.defaults()),
                                        SCHEDULE,
                                        Double.NaN))
                        .getMessage());
    }
}
