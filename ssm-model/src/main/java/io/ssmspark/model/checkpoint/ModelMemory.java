package io.ssmspark.model.checkpoint;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.tensor.MemoryLimits;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What one use of a model needs at least, in bytes per parameter, and the check that refuses a config whose model
 * cannot fit in this JVM before anything is allocated. Only arrays as long as the model count (parameters, optimizer
 * state, gradient sums), never activations, so the figure is a lower bound: a model refused here cannot run.
 *
 * @param use what is done with the model, as in "training in float32"
 * @param nativeBytesPerParameter ND4J's buffers, off the heap
 * @param heapBytesPerParameter Java arrays on the heap
 * @param maxParameters the most parameters this use can hold (one Java array holds at most {@link #MAX_JAVA_ARRAY})
 */
public record ModelMemory(String use, long nativeBytesPerParameter, long heapBytesPerParameter, long maxParameters) {
    /** The most entries of one Java array. */
    public static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    private static final String SMALLER = "make the model smaller (d_model, n_layer, d_intermediate, vocab_size)";
    private static final String MORE_MEMORY =
            "give the JVM more memory (-Xmx and -Dorg.bytedeco.javacpp.maxPhysicalBytes:"
                    + " in SSM_SPARK_JAVA_OPTS for bin/ssm-spark, spark.driver.memory under spark-submit)";

    /** Reading a checkpoint as {@code type}: its tensors, then their flat copy. */
    public static ModelMemory loading(DataType type) {
        return new ModelMemory(
                "loading it as " + name(type) + " (its tensors and their flat copy)",
                2L * type.width(),
                0,
                Long.MAX_VALUE);
    }

    /** "float32" or "float64". */
    public static String name(DataType type) {
        return type == DataType.DOUBLE ? "float64" : "float32";
    }

    /** Bytes this use needs at least for a model of {@code parameters}, native and heap together. */
    public long bytes(long parameters) {
        return add(mul(parameters, nativeBytesPerParameter), heapBytes(parameters));
    }

    public long heapBytes(long parameters) {
        return mul(parameters, heapBytesPerParameter);
    }

    /**
     * Refuses {@code config}, read from {@code source}, with an IllegalArgumentException naming the parameter count,
     * the bytes needed and the limit in the way, when this use of its model cannot fit in {@code limits}.
     */
    public void require(MambaConfig config, String source, MemoryLimits limits) {
        long parameters = ModelSize.parameters(config);
        String model = source + ": the model has " + count(parameters) + " parameters (d_model " + config.dModel()
                + ", n_layer " + config.nLayer() + ", padded vocabulary " + config.paddedVocabSize() + "); " + use;
        if (parameters > maxParameters) {
            throw new IllegalArgumentException(model + " holds them in one Java array, of at most "
                    + count(maxParameters) + " entries: " + SMALLER);
        }
        long bytes = bytes(parameters);
        long heap = heapBytes(parameters);
        if (bytes > limits.processBytes() || heap > limits.maxHeapBytes()) {
            long perParameter = nativeBytesPerParameter + heapBytesPerParameter;
            throw new IllegalArgumentException(model + " needs at least " + size(bytes) + " (" + perParameter
                    + " bytes per parameter" + (heap > 0 ? ", " + size(heap) + " of them on the heap" : "")
                    + ") but this JVM"
                    + " may use " + size(limits.processBytes()) + " in all and " + size(limits.maxHeapBytes())
                    + " of heap"
                    + " (org.bytedeco.javacpp.maxPhysicalBytes "
                    + (limits.maxPhysicalBytes() > 0 ? size(limits.maxPhysicalBytes()) : "none") + ", physical memory "
                    + size(limits.physicalMemoryBytes()) + ", -Xmx " + size(limits.maxHeapBytes()) + "): " + SMALLER
                    + " or "
                    + MORE_MEMORY);
        }
    }

    private static String count(long n) {
        return n == Long.MAX_VALUE ? "more than 9.2e18" : String.format(Locale.ROOT, "%,d", n);
    }

    /** Binary units with one decimal: "12.0 GiB"; "unknown" for 0 (no limit, or not known). */
    static String size(long bytes) {
        if (bytes <= 0) {
            return "unknown";
        }
        if (bytes == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int unit = 0;
        double value = bytes;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " bytes" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    private static long mul(long a, long b) {
        return Math.multiplyHigh(a, b) != 0 || a * b < 0 ? Long.MAX_VALUE : a * b; // a, b >= 0
    }

    private static long add(long a, long b) {
        return a + b < 0 ? Long.MAX_VALUE : a + b; // a, b >= 0
    }
}
