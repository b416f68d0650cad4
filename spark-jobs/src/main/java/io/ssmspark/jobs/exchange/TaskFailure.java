package io.ssmspark.jobs.exchange;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;

/**
 * A scoring task's exception on its way to the driver's {@link ExchangeHub}: Java serialization, or, for an
 * exception that does not serialize, a RuntimeException with its text and stack.
 */
public final class TaskFailure {
    private TaskFailure() {}

    static byte[] toBytes(Throwable t) {
        try {
            return serialize(t);
        } catch (IOException e) {
            RuntimeException copy = new RuntimeException(t.toString());
            copy.setStackTrace(t.getStackTrace());
            try {
                return serialize(copy);
            } catch (IOException never) {
                throw new IllegalStateException("a RuntimeException did not serialize", never);
            }
        }
    }

    /** The exception back; classes come from the thread's context class loader (the job jar under spark-submit). */
    static Throwable fromBytes(byte[] bytes) throws IOException {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes)) {
            @Override
            protected Class<?> resolveClass(ObjectStreamClass d) throws IOException, ClassNotFoundException {
                try {
                    return Class.forName(
                            d.getName(), false, Thread.currentThread().getContextClassLoader());
                } catch (ClassNotFoundException e) {
                    return super.resolveClass(d);
                }
            }
        }) {
            return (Throwable) in.readObject();
        } catch (ClassNotFoundException | ClassCastException e) {
            throw new IOException("a scoring task's failure could not be read back: " + e, e);
        }
    }

    private static byte[] serialize(Throwable t) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(t);
        }
        return bytes.toByteArray();
    }
}
