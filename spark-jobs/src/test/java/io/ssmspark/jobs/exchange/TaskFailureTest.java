package io.ssmspark.jobs.exchange;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import org.junit.jupiter.api.Test;

/** A task's failure crosses to the driver as itself; nothing but exceptions is ever built from the bytes. */
class TaskFailureTest {
    /** An exception that holds an object of another kind. */
    static final class HoldsAMap extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final HashMap<String, String> context = new HashMap<>();

        HoldsAMap(String message) {
            super(message);
            context.put("k", "v");
        }
    }

    @Test
    void anExceptionWithItsCauseAndSuppressedComesBackAsItself() throws IOException {
        IllegalArgumentException e = new IllegalArgumentException(
                "input a.i32: token id 99 at byte offset 40 is not below the vocabulary size 13",
                new UncheckedIOException(new IOException("disk")));
        e.addSuppressed(new IllegalStateException("closing"));
        Throwable back = TaskFailure.fromBytes(TaskFailure.toBytes(e));
        assertInstanceOf(IllegalArgumentException.class, back);
        assertEquals(e.getMessage(), back.getMessage());
        assertInstanceOf(UncheckedIOException.class, back.getCause());
        assertEquals("closing", back.getSuppressed()[0].getMessage());
        assertEquals(e.getStackTrace()[0], back.getStackTrace()[0]);
    }

    @Test
    void anExceptionHoldingOtherObjectsTravelsAsItsText() throws IOException {
        Throwable back = TaskFailure.fromBytes(TaskFailure.toBytes(new HoldsAMap("odd")));
        assertEquals(RuntimeException.class, back.getClass());
        assertTrue(back.getMessage().endsWith("HoldsAMap: odd"), back.getMessage());
    }

    @Test
    void bytesOfAnythingButAnExceptionAreRefused() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            HashMap<String, Integer> notAFailure = new HashMap<>();
            notAFailure.put("x", 1);
            out.writeObject(notAFailure);
        }
        IOException e = assertThrows(IOException.class, () -> TaskFailure.fromBytes(bytes.toByteArray()));
        assertTrue(e.getMessage().contains("REJECTED"), e.getMessage());
    }
}
