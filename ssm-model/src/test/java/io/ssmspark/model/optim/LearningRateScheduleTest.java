package io.ssmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {
    // maxLr 1e-3, minLr 1e-4, warmup W = 10, total T = 110: the cosine runs over 100 steps.
    private final LearningRateSchedule schedule = new LearningRateSchedule(1e-3, 1e-4, 10, 110);

    @Test
    void warmupIsLinearFromZero() {
        assertEquals(0.0, schedule.lr(0), 0.0);
        assertEquals(1e-4, schedule.lr(1), 1e-18);
        assertEquals(9e-4, schedule.lr(9), 1e-18); // W - 1
        assertEquals(1e-3, schedule.lr(10), 0.0); // W: the peak, cos(0) = 1
    }

    @Test
    void cosineDecayAtHandComputedSteps() {
        // s = 35: progress 1/4, 1e-4 + 9e-4 * (1 + cos(pi/4)) / 2 = 5.5e-4 + 4.5e-4 * 0.70710678118654752
        assertEquals(8.68198051533946e-4, schedule.lr(35), 1e-18);
        // s = 60: progress 1/2, cos(pi/2) = 0: the midpoint (1e-3 + 1e-4) / 2
        assertEquals(5.5e-4, schedule.lr(60), 1e-18);
        // s = 109: 1e-4 + 4.5e-4 * (1 - cos(pi/100)) = 1e-4 + 4.5e-4 * 4.934396342684e-4
        assertEquals(1.0022204783542e-4, schedule.lr(109), 1e-17);
        assertEquals(1e-4, schedule.lr(110), 0.0); // T
        assertEquals(1e-4, schedule.lr(1_000_000_000L), 0.0); // beyond T
        for (long s = 10; s < 110; s++) {
            assertTrue(schedule.lr(s + 1) < schedule.lr(s), "strictly decreasing at step " + s);
        }
    }

    @Test
    void noWarmupStartsAtThePeak() {
        LearningRateSchedule s = new LearningRateSchedule(2e-3, 0.0, 0, 4);
        assertEquals(2e-3, s.lr(0), 0.0);
        assertEquals(1e-3 * (1 + Math.sqrt(0.5)), s.lr(1), 1e-18); // cos(pi/4)
        assertEquals(1e-3, s.lr(2), 1e-18);
        assertEquals(0.0, s.lr(4), 0.0);
    }

    @Test
    void totalEqualToWarmupHasNoCosinePhase() {
        LearningRateSchedule s = new LearningRateSchedule(1e-3, 1e-5, 4, 4);
        assertEquals(0.0, s.lr(0), 0.0);
        assertEquals(7.5e-4, s.lr(3), 1e-18);
        assertEquals(1e-5, s.lr(4), 0.0);
        assertEquals(1e-5, s.lr(5), 0.0);
        assertEquals(3e-4, new LearningRateSchedule(3e-4, 3e-4, 0, 0).lr(0), 0.0);
        assertEquals(3e-4, LearningRateSchedule.constant(3e-4).lr(12345), 0.0);
    }

    @Test
    void badArgumentsAreRefused() {
        assertEquals(
                "learning-rate schedule totalSteps must be >= warmupSteps = 10, found 9",
                assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, 0, 10, 9))
                        .getMessage());
        assertEquals(
                "learning-rate schedule minLr must be in [0, maxLr = 0.001], found 0.002",
                assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, 2e-3, 0, 9))
                        .getMessage());
        assertEquals(
                "learning-rate schedule warmupSteps must be >= 0, found -1",
                assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, 0, -1, 9))
                        .getMessage());
        assertEquals(
                "learning-rate schedule maxLr must be finite and >= 0, found NaN",
                assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(Double.NaN, 0, 0, 9))
                        .getMessage());
        assertEquals(
                "learning-rate schedule step must be >= 0, found -1",
                assertThrows(IllegalArgumentException.class, () -> schedule.lr(-1))
                        .getMessage());
    }
}
