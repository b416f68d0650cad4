package io.ssmspark.model.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ScratchTest {

    @Test
    void arraysMadeInsideBelongToTheScopeAndEndWithIt() {
        INDArray inside;
        try (Scratch s = Scratch.open()) {
            inside = Nd4j.ones(DataType.FLOAT, 1000).muli(3);
            assertTrue(inside.isAttached());
            assertTrue(inside.isInScope());
            assertTrue(s.bytesAllocated() >= 4000, "bytes allocated in the scope: " + s.bytesAllocated());
        }
        assertFalse(inside.isInScope());
    }

    @Test
    void keptCopiesAndArraysMadeOutsideSurviveTheScope() {
        INDArray kept;
        INDArray outside;
        try (Scratch s = Scratch.open()) {
            INDArray a =
                    Nd4j.arange(6).castTo(DataType.DOUBLE).reshape('f', 2, 3).muli(2);
            kept = Scratch.keep(a);
            outside = Scratch.outside(() -> Nd4j.ones(DataType.FLOAT, 4));
        }
        assertFalse(kept.isAttached());
        assertEquals('f', kept.ordering());
        assertEquals(DataType.DOUBLE, kept.dataType());
        assertEquals(2 * 5.0, kept.getDouble(1, 2));
        assertEquals(4.0, outside.sumNumber().doubleValue());
        assertEquals(null, Scratch.keep(null));
    }

    @Test
    void anInnerScopeFreesOnlyItsOwnArraysAndReadsTheOuterOnes() {
        try (Scratch outer = Scratch.open()) {
            INDArray a = Nd4j.ones(DataType.FLOAT, 8);
            INDArray b;
            double sum;
            try (Scratch inner = Scratch.open()) {
                b = a.add(1);
                sum = b.sumNumber().doubleValue();
            }
            assertEquals(16.0, sum);
            assertFalse(b.isInScope());
            assertTrue(a.isInScope());
            assertEquals(8.0, a.sumNumber().doubleValue());
        }
    }

    @Test
    void scopesCloseInnermostFirst() {
        Scratch outer = Scratch.open();
        Scratch inner = Scratch.open();
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertEquals(
                "scratch scopes must close innermost first: closing depth 1 while depth 2 is open", e.getMessage());
        inner.close();
        outer.close();
        outer.close(); // closing twice is harmless
        assertEquals(42, Scratch.call(() -> Nd4j.scalar(42.0).getInt(0)));
    }

    /**
     * The point of the class: native memory is freed when the scope ends even while Java still references the arrays
     * (GC cannot collect them). 24 arrays of 64 MiB each, written so that their pages are resident: held without
     * scopes they would add 1.5 GiB to the process's resident set.
     */
    @Test
    void nativeMemoryIsFreedAtTheEndOfEachScopeEvenWhileTheArraysAreStillReferenced() {
        List<INDArray> held = new ArrayList<>();
        long before = NativeResident.bytes();
        long peak = before;
        for (int i = 0; i < 24; i++) {
            try (Scratch s = Scratch.open()) {
                INDArray a = Nd4j.createUninitialized(DataType.FLOAT, 16L << 20).assign(i);
                held.add(a);
                assertEquals(16L << 20, a.length());
            }
            peak = Math.max(peak, NativeResident.bytes());
        }
        long growth = peak - before;
        assertEquals(24, held.size());
        assertTrue(
                growth < 512L << 20,
                "native resident set grew by " + (growth >> 20) + " MiB while scoped arrays were held");
    }

    @Test
    void aStepScopeOpenedInsideAnotherIsAOneOffScope() {
        try (Scratch outer = Scratch.openStep()) {
            INDArray a = Nd4j.ones(DataType.FLOAT, 8);
            INDArray b;
            try (Scratch inner = Scratch.openStep()) {
                b = a.add(1);
                assertEquals(16.0, b.sumNumber().doubleValue());
            }
            assertFalse(b.isInScope()); // freed by the inner scope, not overwritten later by the outer block
            assertTrue(a.isInScope());
            assertEquals(8.0, a.sumNumber().doubleValue());
        }
        assertEquals(3.0, Scratch.callStep(() -> Nd4j.scalar(3.0).getDouble(0)));
    }
}
