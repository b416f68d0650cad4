package io.ssmspark.jobs.spark;

import org.nd4j.linalg.api.buffer.DataType;

/** The compute precision every command takes as {@code --dtype}: float32 or float64. */
public final class Precision {
    private Precision() {}

    /** FLOAT for "float32", DOUBLE for "float64"; anything else is refused naming {@code where}. */
    public static DataType parse(String where, String value) {
        return switch (value == null ? "" : value) {
            case "float32" -> DataType.FLOAT;
            case "float64" -> DataType.DOUBLE;
            default ->
                throw new IllegalArgumentException(where + ": expected float32 or float64 but found '" + value + "'");
        };
    }
}
