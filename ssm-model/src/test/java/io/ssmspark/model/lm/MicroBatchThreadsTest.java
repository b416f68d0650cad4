package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MicroBatchThreadsTest {

    @Test
    void resultsComeBackInOrderEachWithItsOwnZeroedGradient() {
        List<Integer> order = new ArrayList<>();
        Set<String> threadNames = ConcurrentHashMap.newKeySet();
        INDArray first = Nd4j.ones(DataType.FLOAT, 3);
        try (MicroBatchThreads threads = new MicroBatchThreads(
                3, first, () -> Nd4j.ones(DataType.FLOAT, 3).muli(5))) {
            threads.run(
                    7,
                    (i, g) -> {
                        threadNames.add(Thread.currentThread().getName());
                        assertEquals(0.0, g.sumNumber().doubleValue(), 0.0); // zero on entry, whatever came before
                        g.addi(i);
                        return i * 10;
                    },
                    (i, r, g) -> {
                        assertEquals(i * 10, r);
                        assertEquals(3.0 * i, g.sumNumber().doubleValue(), 0.0);
                        order.add(i);
                    });
        }
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), order);
        assertTrue(threadNames.size() > 1, "micro-batches ran on more than one thread: " + threadNames);
        assertTrue(threadNames.contains(Thread.currentThread().getName()), "the caller runs its share");
    }

    @Test
    void aPassWithoutGradientsHandsOutNone() {
        AtomicInteger seen = new AtomicInteger();
        try (MicroBatchThreads threads = new MicroBatchThreads(2, null, () -> {
            throw new AssertionError("no buffers in a pass without gradients");
        })) {
            threads.run(
                    3,
                    (i, g) -> {
                        assertNull(g);
                        return i;
                    },
                    (i, r, g) -> seen.incrementAndGet());
        }
        assertEquals(3, seen.get());
    }

    @Test
    void aFailureIsRethrownAsItselfOnlyOnceTheRoundHasFinished() {
        AtomicInteger finished = new AtomicInteger();
        OutOfMemoryError oom = new OutOfMemoryError("Cannot allocate");
        try (MicroBatchThreads threads = new MicroBatchThreads(3, null, null)) {
            OutOfMemoryError thrown = assertThrows(
                    OutOfMemoryError.class,
                    () -> threads.run(
                            6,
                            (i, g) -> {
                                if (i == 1) {
                                    throw oom;
                                }
                                sleep(i == 2 ? 300 : 0);
                                finished.incrementAndGet();
                                return i;
                            },
                            (i, r, g) -> {
                                throw new AssertionError("nothing is handed back from a failed round");
                            }));
            assertSame(oom, thrown);
        }
        assertEquals(2, finished.get(), "micro-batches 0 and 2 finished before the failure was thrown; 3..5 never ran");
    }

    @Test
    void anInterruptedCallerWaitsForItsThreadsAndKeepsTheInterrupt() {
        AtomicInteger finished = new AtomicInteger();
        List<Integer> handedBack = new ArrayList<>();
        try (MicroBatchThreads threads = new MicroBatchThreads(2, null, null)) {
            threads.run(
                    2,
                    (i, g) -> {
                        if (i == 0) {
                            Thread.currentThread().interrupt(); // the task is killed while micro-batch 1 runs
                        } else {
                            sleep(300);
                            finished.incrementAndGet();
                        }
                        return i;
                    },
                    (i, r, g) -> handedBack.add(i));
            assertTrue(Thread.interrupted(), "the interrupt is kept for Spark to see");
        }
        assertEquals(1, finished.get(), "micro-batch 1 finished before run returned");
        assertEquals(List.of(0, 1), handedBack);
    }

    @Test
    void atLeastOneThreadIsRequired() {
        assertThrows(IllegalArgumentException.class, () -> new MicroBatchThreads(0, null, null));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
