package io.ssmspark.jobs.train;

import io.ssmspark.model.tensor.HostArrays;
import java.io.Serializable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A slice of a flat FLOAT or DOUBLE vector as it travels between tasks and sits in Spark's block store: a plain
 * float[] or double[] (never an INDArray, whose native buffer Spark can neither serialize nor free).
 */
public final class FlatValues implements Serializable {
    private static final long serialVersionUID = 1L;
    public float[] floats;
    public double[] doubles;

    public FlatValues() {}

    /** A copy of {@code vector}'s values (FLOAT or DOUBLE). */
    static FlatValues of(INDArray vector) {
        FlatValues v = new FlatValues();
        if (vector.dataType() == DataType.DOUBLE) {
            v.doubles = HostArrays.doubles(vector);
        } else if (vector.dataType() == DataType.FLOAT) {
            v.floats = HostArrays.floats(vector);
        } else {
            throw new IllegalArgumentException("flat values are FLOAT or DOUBLE, not " + vector.dataType());
        }
        return v;
    }

    int length() {
        return floats != null ? floats.length : doubles.length;
    }

    DataType dataType() {
        return floats != null ? DataType.FLOAT : DataType.DOUBLE;
    }

    /** A new native vector of these values (the caller closes it). */
    INDArray toArray() {
        return floats != null ? HostArrays.of(floats) : HostArrays.of(doubles);
    }

    /** Copies these values into {@code target} (a float[] or double[] of this type) from index {@code at}. */
    void copyInto(Object target, int at) {
        System.arraycopy(floats != null ? floats : doubles, 0, target, at, length());
    }
}
