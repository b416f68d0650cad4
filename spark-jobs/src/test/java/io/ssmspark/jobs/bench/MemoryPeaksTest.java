package io.ssmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MemoryPeaksTest {

    /** A 256 MiB array held through a collection shows in the heap after GC; the peaks stay once closed. */
    @Test
    void seesWhatSurvivesACollection() throws InterruptedException {
        long held;
        MemoryPeaks peaks = new MemoryPeaks();
        try (peaks) {
            byte[] big = new byte[256 << 20];
            big[big.length - 1] = 1;
            System.gc();
            for (int i = 0; i < 100 && peaks.heapAfterGc.get() < big.length; i++) {
                Thread.sleep(50); // the collectors' notifications arrive on their own thread
            }
            Thread.sleep(60); // at least two samples of the heap and the resident set
            held = big[big.length - 1];
        }
        assertEquals(1, held);
        assertTrue(peaks.heapAfterGc.get() >= 256L << 20, "heap after GC: " + peaks.heapAfterGc.get());
        assertTrue(peaks.heapInUse.get() >= 256L << 20, "heap in use: " + peaks.heapInUse.get());
        assertTrue(peaks.residentSet.get() >= 256L << 20, "resident set: " + peaks.residentSet.get());
        long before = peaks.heapAfterGc.get();
        byte[] bigger = new byte[512 << 20];
        System.gc();
        Thread.sleep(300);
        assertEquals(0, bigger[0]);
        assertEquals(before, peaks.heapAfterGc.get(), "no longer listening once closed");
    }
}
