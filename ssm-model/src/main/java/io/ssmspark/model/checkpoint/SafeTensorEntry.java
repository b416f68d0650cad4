package io.ssmspark.model.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/** One tensor of a safetensors header: its name, dtype, PyTorch shape and byte range in the data buffer. */
public final class SafeTensorEntry {
    private final String name;
    private final SafeTensorsDType dtype;
    private final long[] shape;
    private final long begin;
    private final long end;

    public SafeTensorEntry(String name, SafeTensorsDType dtype, long[] shape, long begin, long end) {
        this.name = Objects.requireNonNull(name);
        this.dtype = Objects.requireNonNull(dtype);
        this.shape = shape.clone();
        this.begin = begin;
        this.end = end;
    }

    public String name() {
        return name;
    }

    public SafeTensorsDType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Start of the tensor's bytes, relative to the start of the data buffer. */
    public long begin() {
        return begin;
    }

    /** End (exclusive) of the tensor's bytes, relative to the start of the data buffer. */
    public long end() {
        return end;
    }

    /** Number of elements, the product of the shape (1 for a scalar). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SafeTensorEntry e
                && name.equals(e.name)
                && dtype == e.dtype
                && Arrays.equals(shape, e.shape)
                && begin == e.begin
                && end == e.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
}
