package io.ssmspark.jobs.train;

import java.io.Serializable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
            v.doubles = vector.toDoubleVector();
        } else if (vector.dataType() == DataType.FLOAT) {
            v.floats = vector.toFloatVector();
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
        return floats != null ? Nd4j.createFromArray(floats) : Nd4j.createFromArray(doubles);
    }

    /** Copies these values into {@code target} (a float[] or double[] of this type) from index {@code at}. */
    void copyInto(Object target, int at) {
        System.arraycopy(floats != null ? floats : doubles, 0, target, at, length());
    }
}
