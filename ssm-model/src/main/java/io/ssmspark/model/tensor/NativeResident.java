package io.ssmspark.model.tensor;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import org.bytedeco.javacpp.Pointer;

/** How much of this process's resident memory is native (ND4J's buffers, malloc), not the JVM's own areas. */
public final class NativeResident {
    private NativeResident() {}

    /**
     * The resident set less what the JVM has committed for its heap and non-heap areas. Heap garbage that makes the
     * young generation grow would otherwise read as native growth; this may undercount native memory by committed
     * heap pages not yet touched, never overcount it.
     */
    public static long bytes() {
        MemoryMXBean jvm = ManagementFactory.getMemoryMXBean();
        return Pointer.physicalBytes()
                - jvm.getHeapMemoryUsage().getCommitted()
                - jvm.getNonHeapMemoryUsage().getCommitted();
    }
}
