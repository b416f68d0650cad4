package io.ssmspark.model.tensor;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Java arrays to and from ND4J's native buffers in one bulk copy each. {@code Nd4j.createFromArray} and {@code
 * DataBuffer.asFloat} copy element by element: 32,768 floats took about 97 µs in, against about 9 µs here
 * (README, "Measured design choices"), which matters where small arrays cross often (the scoring fold's carries,
 * parameters handed to tasks).
 */
public final class HostArrays {
    private HostArrays() {}

    /** A new dense FLOAT array of {@code shape} (a vector when none is given) holding {@code values}. */
    public static INDArray of(float[] values, long... shape) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, shapeOf(values.length, shape));
        if (values.length > 0) {
            new FloatPointer(a.data().addressPointer()).put(values, 0, values.length);
        }
        return a;
    }

    /** A new dense DOUBLE array of {@code shape} (a vector when none is given) holding {@code values}. */
    public static INDArray of(double[] values, long... shape) {
        INDArray a = Nd4j.createUninitialized(DataType.DOUBLE, shapeOf(values.length, shape));
        if (values.length > 0) {
            new DoublePointer(a.data().addressPointer()).put(values, 0, values.length);
        }
        return a;
    }

    /** {@code a}'s values in C order, FLOAT. */
    public static float[] floats(INDArray a) {
        INDArray d = dense(a, DataType.FLOAT);
        float[] out = new float[(int) d.length()];
        if (out.length > 0) {
            new FloatPointer(d.data().addressPointer()).get(out, 0, out.length);
        }
        return out;
    }

    /** {@code a}'s values in C order, DOUBLE. */
    public static double[] doubles(INDArray a) {
        INDArray d = dense(a, DataType.DOUBLE);
        double[] out = new double[(int) d.length()];
        if (out.length > 0) {
            new DoublePointer(d.data().addressPointer()).get(out, 0, out.length);
        }
        return out;
    }

    private static INDArray dense(INDArray a, DataType type) {
        if (a.dataType() != type) {
            throw new IllegalArgumentException("expected a " + type + " array but found " + a.dataType());
        }
        if (a.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(a.length() + " values do not fit in one Java array");
        }
        // a buffer read from its start must be exactly these values: a view is copied first
        return Layouts.ownsWholeBuffer(a) ? a : a.dup('c');
    }

    private static long[] shapeOf(long length, long[] shape) {
        if (shape.length == 0) {
            return new long[] {length};
        }
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        if (n != length) {
            throw new IllegalArgumentException(
                    length + " values cannot have shape " + java.util.Arrays.toString(shape));
        }
        return shape;
    }
}
