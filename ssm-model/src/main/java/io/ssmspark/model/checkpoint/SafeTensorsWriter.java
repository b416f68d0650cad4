package io.ssmspark.model.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Writes safetensors files: an 8-byte little-endian header length, the JSON header padded with spaces so
 * the data starts at a multiple of 8, then every tensor's bytes, in name order, as F32 (or F64).
 */
public final class SafeTensorsWriter {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int CHUNK_ELEMENTS = 1 << 20;

    private SafeTensorsWriter() {}

    /** Writes {@code file} atomically (temporary file beside it, then rename). */
    public static void write(
            Path file, Map<String, INDArray> tensors, Map<String, String> metadata, SafeTensorsDType dtype)
            throws IOException {
        AtomicFiles.write(file, out -> write(out, tensors, metadata, dtype));
    }

    /** Writes the whole safetensors byte stream to {@code out}. */
    public static void write(
            OutputStream out, Map<String, INDArray> tensors, Map<String, String> metadata, SafeTensorsDType dtype)
            throws IOException {
        if (dtype != SafeTensorsDType.F32 && dtype != SafeTensorsDType.F64) {
            throw new IllegalArgumentException("safetensors are written as F32 or F64, not " + dtype);
        }
        Map<String, INDArray> sorted = new TreeMap<>(tensors);
        SortedMap<String, long[]> shapes = new TreeMap<>();
        sorted.forEach((name, t) -> shapes.put(name, t.shape()));
        writeHeader(out, shapes, metadata, dtype);
        for (INDArray t : sorted.values()) {
            writeValues(out, t, dtype);
        }
        out.flush();
    }

    /**
     * Writes the length prefix and the header of a file whose tensors have {@code shapes}; their data must follow,
     * in name order, each tensor's elements in c order ({@link #writeValues}, once or in consecutive pieces). For
     * a file written in pieces, such as the sharded optimizer state.
     */
    public static void writeHeader(
            OutputStream out, SortedMap<String, long[]> shapes, Map<String, String> metadata, SafeTensorsDType dtype)
            throws IOException {
        if (dtype != SafeTensorsDType.F32 && dtype != SafeTensorsDType.F64) {
            throw new IllegalArgumentException("safetensors are written as F32 or F64, not " + dtype);
        }
        byte[] header = header(shapes, metadata, dtype);
        ByteBuffer length =
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
        out.write(length.array());
        out.write(header);
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes. */
    static byte[] header(SortedMap<String, long[]> sortedShapes, Map<String, String> metadata, SafeTensorsDType dtype) {
        ObjectNode root = MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafeTensorsHeader.METADATA_KEY);
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, long[]> e : sortedShapes.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.equals(SafeTensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("invalid safetensors tensor name '" + name + "'");
            }
            long[] shape = e.getValue();
            long bytes = Arrays.stream(shape).reduce(1L, Math::multiplyExact) * dtype.itemSize();
            ObjectNode entry = root.putObject(name);
            entry.put("dtype", dtype.name());
            ArrayNode shapeNode = entry.putArray("shape");
            Arrays.stream(shape).forEach(shapeNode::add);
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = MAPPER.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a JSON tree of plain values", e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Writes {@code t}'s elements in c order as {@code dtype} (F32 or F64), little-endian: tensor data, or a piece of it. */
    public static void writeValues(OutputStream out, INDArray t, SafeTensorsDType dtype) throws IOException {
        if (t.length() == 0) {
            return;
        }
        DataType type = dtype == SafeTensorsDType.F32 ? DataType.FLOAT : DataType.DOUBLE;
        // The elements in c order, of the right type, in a buffer holding exactly them: the array itself
        // when it already is one, else a fresh copy.
        boolean direct = t.dataType() == type
                && t.ordering() == 'c'
                && Shape.hasDefaultStridesForShape(t)
                && t.offset() == 0
                && t.data().length() == t.length();
        INDArray c = direct ? t : t.castTo(type).dup('c');
        int n = (int) c.length();
        ByteBuffer buf = ByteBuffer.allocate(Math.min(n, CHUNK_ELEMENTS) * dtype.itemSize())
                .order(ByteOrder.LITTLE_ENDIAN);
        if (type == DataType.FLOAT) {
            float[] values = c.data().asFloat();
            for (int at = 0; at < n; at += CHUNK_ELEMENTS) {
                int k = Math.min(CHUNK_ELEMENTS, n - at);
                buf.clear();
                buf.asFloatBuffer().put(values, at, k);
                out.write(buf.array(), 0, k * 4);
            }
        } else {
            double[] values = c.data().asDouble();
            for (int at = 0; at < n; at += CHUNK_ELEMENTS) {
                int k = Math.min(CHUNK_ELEMENTS, n - at);
                buf.clear();
                buf.asDoubleBuffer().put(values, at, k);
                out.write(buf.array(), 0, k * 8);
            }
        }
    }
}
