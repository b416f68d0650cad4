package io.ssmspark.model.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor as a weight file stores it: its name in the file, its element type as the file names it ("F32",
 * "F16", "BF16", "F64" for the types ssm-spark reads; torch's name, e.g. "int64", for others) and its shape.
 */
public final class StoredTensor {
    private final String name;
    private final String dtype;
    private final long[] shape;
    private final boolean readable;

    public StoredTensor(String name, String dtype, long[] shape, boolean readable) {
        this.name = Objects.requireNonNull(name);
        this.dtype = Objects.requireNonNull(dtype);
        this.shape = shape.clone();
        this.readable = readable;
    }

    public String name() {
        return name;
    }

    public String dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Whether ssm-spark can read this tensor's element type as weights (F32, F16, BF16, F64). */
    public boolean readable() {
        return readable;
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
