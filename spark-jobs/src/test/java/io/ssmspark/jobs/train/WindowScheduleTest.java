package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class WindowScheduleTest {

    @Test
    void stepsWalkThroughTheRanksOfEachEpoch() {
        WindowSchedule s = new WindowSchedule(10, 4, 2); // 2 steps per epoch; ranks 8, 9 unused
        assertEquals(2, s.stepsPerEpoch());
        assertEquals(2, s.windowsPerRound());
        assertEquals(0, s.epochOf(0));
        assertEquals(0, s.firstRank(0, 0));
        assertEquals(2, s.firstRank(0, 1));
        assertEquals(4, s.firstRank(1, 0));
        assertEquals(6, s.firstRank(1, 1));
        assertEquals(1, s.epochOf(2));
        assertEquals(0, s.firstRank(2, 0));
        assertEquals(2, s.epochOf(5));
        assertEquals(6, s.firstRank(5, 1));
    }

    @Test
    void badShapesAreRefused() {
        assertEquals(
                "--global-batch 6 must be >= 1 and a multiple of --grad-accum 4",
                assertThrows(IllegalArgumentException.class, () -> new WindowSchedule(100, 6, 4))
                        .getMessage());
        assertEquals(
                "--global-batch 8 windows per step but the training split has only 5 windows: use more data,"
                        + " a shorter --seq-len or a smaller batch",
                assertThrows(IllegalArgumentException.class, () -> new WindowSchedule(5, 8, 1))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> new WindowSchedule(10, 4, 2).firstRank(0, 2));
    }
}
