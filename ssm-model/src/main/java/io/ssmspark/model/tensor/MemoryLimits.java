package io.ssmspark.model.tensor;

import org.bytedeco.javacpp.Pointer;

/**
 * The memory this JVM may use: its heap limit (-Xmx), JavaCPP's limit on the whole process's resident memory, heap
 * and ND4J's native buffers together ({@code org.bytedeco.javacpp.maxPhysicalBytes}; 0 means none), and the
 * machine's physical memory (0 when unknown).
 */
public record MemoryLimits(long maxHeapBytes, long maxPhysicalBytes, long physicalMemoryBytes) {

    /** The limits of this JVM now. */
    public static MemoryLimits ofThisJvm() {
        long physical;
        try {
            physical = Pointer.totalPhysicalBytes();
        } catch (UnsatisfiedLinkError e) {
            physical = 0; // JavaCPP's native library is missing: unknown
        }
        return new MemoryLimits(Runtime.getRuntime().maxMemory(), Pointer.maxPhysicalBytes(), physical);
    }

    /** What the process may hold in all: the smaller of JavaCPP's limit and the physical memory, where known. */
    public long processBytes() {
        long limit = Long.MAX_VALUE;
        if (maxPhysicalBytes > 0) {
            limit = maxPhysicalBytes;
        }
        if (physicalMemoryBytes > 0) {
            limit = Math.min(limit, physicalMemoryBytes);
        }
        return limit;
    }
}
