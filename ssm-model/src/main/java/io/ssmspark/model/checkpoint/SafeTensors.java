package io.ssmspark.model.checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The safetensors format: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * {@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}, then the
 * data buffer (offsets relative to its start). Reads F64/F32/F16/BF16, writes F32 or F64.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** Opens a file for reading single tensors; the header is validated now. */
    public static SafeTensorsReader open(Path file) throws IOException {
        return SafeTensorsReader.open(file);
    }

    /** Reads every tensor as {@code type} (FLOAT or DOUBLE), in name order. */
    public static Map<String, INDArray> read(Path file, DataType type) throws IOException {
        try (SafeTensorsReader reader = SafeTensorsReader.open(file)) {
            return reader.readAll(type);
        }
    }

    /** Writes the tensors as F32, atomically. */
    public static void write(Path file, Map<String, INDArray> tensors, Map<String, String> metadata)
            throws IOException {
        SafeTensorsWriter.write(file, tensors, metadata, SafeTensorsDType.F32);
    }

    /** Writes the tensors as F32 or F64, atomically. */
    public static void write(
            Path file, Map<String, INDArray> tensors, Map<String, String> metadata, SafeTensorsDType dtype)
            throws IOException {
        SafeTensorsWriter.write(file, tensors, metadata, dtype);
    }
}
