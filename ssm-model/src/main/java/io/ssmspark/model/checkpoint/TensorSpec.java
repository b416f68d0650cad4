package io.ssmspark.model.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/**
 * One parameter tensor of the model: its mamba_ssm name, PyTorch shape, offset in the flat parameter
 * vector and whether AdamW applies weight decay to it.
 */
public final class TensorSpec {
    private final String name;
    private final long[] shape;
    private final long offset;
    private final boolean weightDecay;

    TensorSpec(String name, long[] shape, long offset, boolean weightDecay) {
        this.name = Objects.requireNonNull(name);
        this.shape = shape.clone();
        this.offset = offset;
        this.weightDecay = weightDecay;
    }

    public String name() {
        return name;
    }

    /** The PyTorch shape (a copy). */
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public long size() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Index of the first element in the flat parameter vector. */
    public long offset() {
        return offset;
    }

    /** Whether weight decay applies (false for A_log, D, dt_bias, norm weights and biases). */
    public boolean weightDecay() {
        return weightDecay;
    }

    public boolean hasShape(long[] other) {
        return Arrays.equals(shape, other);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t
                && name.equals(t.name)
                && Arrays.equals(shape, t.shape)
                && offset == t.offset
                && weightDecay == t.weightDecay;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), offset, weightDecay);
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(shape) + " @" + offset + (weightDecay ? " decay" : " no-decay");
    }
}
