package io.ssmspark.jobs.exchange;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.util.Set;

/**
 * A scoring task's exception on its way to the driver's {@link ExchangeHub}: Java serialization, read back through
 * a filter ({@link #ONLY_EXCEPTIONS}) that admits exceptions, their stack frames, messages and suppressed lists and
 * nothing else, so that a connection, even an authenticated one, cannot make the driver build any other object. An
 * exception the filter would refuse (one holding other objects), or that does not serialize, travels as a
 * RuntimeException with its text and stack.
 */
public final class TaskFailure {
    private TaskFailure() {}

    /** The classes a failure may hold besides exceptions: what Throwable itself serializes. */
    private static final Set<String> ALSO_ALLOWED = Set.of(
            "java.lang.StackTraceElement",
            "java.lang.String",
            "java.util.ArrayList",
            "java.util.Collections$EmptyList",
            "java.util.Collections$UnmodifiableList",
            "java.util.Collections$UnmodifiableRandomAccessList",
            "java.util.Collections$UnmodifiableCollection");

    /** Exceptions and what Throwable holds, at most 64 deep, 100,000 references and arrays of 100,000. */
    static final ObjectInputFilter ONLY_EXCEPTIONS = info -> {
        if (info.depth() > 64 || info.references() > 100_000 || info.arrayLength() > 100_000) {
            return ObjectInputFilter.Status.REJECTED;
        }
        Class<?> c = info.serialClass();
        boolean array = c != null && c.isArray();
        while (c != null && c.isArray()) {
            c = c.getComponentType();
        }
        if (c == null || c.isPrimitive() || (array && c == Object.class)) { // an ArrayList's elements
            return ObjectInputFilter.Status.UNDECIDED;
        }
        return Throwable.class.isAssignableFrom(c) || ALSO_ALLOWED.contains(c.getName())
                ? ObjectInputFilter.Status.ALLOWED
                : ObjectInputFilter.Status.REJECTED;
    };

    static byte[] toBytes(Throwable t) {
        try {
            byte[] bytes = serialize(t);
            fromBytes(bytes); // the driver's filter must take it
            return bytes;
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
            {
                setObjectInputFilter(ONLY_EXCEPTIONS);
            }

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
        } catch (ClassNotFoundException | ClassCastException | java.io.InvalidClassException e) {
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
