package io.ssmspark.model.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads a safetensors file: the header is read and validated on {@link #open}, tensors are read on
 * demand with bulk channel reads into ND4J arrays of FLOAT or DOUBLE, c order, PyTorch shape.
 * Not thread-safe; close it when done.
 */
public final class SafeTensorsReader implements TensorFile {
    /** Refuse headers above this size: real headers are kilobytes, a huge one is a corrupt length. */
    public static final long MAX_HEADER_BYTES = 100L << 20;
    /** Bytes per bulk read; a multiple of every item size. */
    private static final int CHUNK_BYTES = 1 << 22;

    private final Path file;
    private final FileChannel channel;
    private final SafeTensorsHeader header;
    private final long dataStart;
    private ByteBuffer chunk;

    private SafeTensorsReader(Path file, FileChannel channel, SafeTensorsHeader header, long dataStart) {
        this.file = file;
        this.channel = channel;
        this.header = header;
        this.dataStart = dataStart;
    }

    /** Opens the file and validates its header. */
    public static SafeTensorsReader open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "safetensors file not found");
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = channel.size();
            if (size < 8) {
                throw new SafeTensorsFormatException(
                        file + ": file is " + size + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0, file);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 2 || headerLength > size - 8 || headerLength > MAX_HEADER_BYTES) {
                throw new SafeTensorsFormatException(
                        file + ": byte offset 0: header length " + Long.toUnsignedString(headerLength)
                                + " is invalid (must be >= 2, <= " + Math.min(size - 8, MAX_HEADER_BYTES)
                                + " for this " + size + "-byte file)");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8, file);
            headerBytes.flip();
            SafeTensorsHeader header = SafeTensorsHeader.parse(file.toString(), headerBytes, size - 8 - headerLength);
            return new SafeTensorsReader(file, channel, header, 8 + headerLength);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public Path file() {
        return file;
    }

    /** The tensors, in name order (the order of {@link #entries()}). */
    @Override
    public List<StoredTensor> tensors() {
        List<StoredTensor> out = new ArrayList<>();
        for (SafeTensorEntry e : header.entries().values()) {
            out.add(new StoredTensor(e.name(), e.dtype().name(), e.shape(), true));
        }
        return out;
    }

    /** The tensors, in name order. */
    public List<SafeTensorEntry> entries() {
        return new ArrayList<>(header.entries().values());
    }

    /** The entry of this name, or null. */
    public SafeTensorEntry entry(String name) {
        return header.entries().get(name);
    }

    /** The free-form "__metadata__" strings (empty when absent). */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Reads one tensor as FLOAT or DOUBLE. */
    @Override
    public INDArray read(String name, DataType type) throws IOException {
        SafeTensorEntry e = entry(name);
        if (e == null) {
            throw new SafeTensorsFormatException(file + ": no tensor named '" + name + "'");
        }
        if (type != DataType.FLOAT && type != DataType.DOUBLE) {
            throw new IllegalArgumentException("tensors are read as FLOAT or DOUBLE, not " + type);
        }
        long count = e.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new SafeTensorsFormatException(
                    file + ": tensor '" + name + "' has " + count + " elements, more than one Java array can hold");
        }
        long[] shape = e.shape();
        if (count == 0) {
            return Nd4j.create(type, shape);
        }
        if (type == DataType.FLOAT) {
            float[] values = new float[(int) count];
            readElements(e, (buf, at, n) -> decodeFloats(e.dtype(), buf, values, at, n));
            return shape.length == 0 ? Nd4j.scalar(values[0]) : Nd4j.create(values, shape, DataType.FLOAT);
        }
        double[] values = new double[(int) count];
        readElements(e, (buf, at, n) -> decodeDoubles(e.dtype(), buf, values, at, n));
        return shape.length == 0 ? Nd4j.scalar(values[0]) : Nd4j.create(values, shape, DataType.DOUBLE);
    }

    /** Reads every tensor, in name order. */
    public Map<String, INDArray> readAll(DataType type) throws IOException {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (String name : header.entries().keySet()) {
            out.put(name, read(name, type));
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @FunctionalInterface
    private interface ChunkDecoder {
        /** Decodes {@code n} elements from {@code buf} (little-endian) into the output at element {@code at}. */
        void decode(ByteBuffer buf, int at, int n);
    }

    private void readElements(SafeTensorEntry e, ChunkDecoder decoder) throws IOException {
        if (chunk == null) {
            chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        }
        int itemSize = e.dtype().itemSize();
        long total = e.end() - e.begin();
        long done = 0;
        while (done < total) {
            int want = (int) Math.min(CHUNK_BYTES, total - done);
            chunk.clear().limit(want);
            readFully(channel, chunk, dataStart + e.begin() + done, file);
            chunk.flip();
            decoder.decode(chunk, (int) (done / itemSize), want / itemSize);
            done += want;
        }
    }

    /** Decodes {@code n} elements of {@code dtype} from {@code buf} (in its byte order) into {@code out[at..]}. */
    static void decodeFloats(SafeTensorsDType dtype, ByteBuffer buf, float[] out, int at, int n) {
        switch (dtype) {
            case F32 -> buf.asFloatBuffer().get(out, at, n);
            case F64 -> {
                DoubleBuffer d = buf.asDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    out[at + i] = (float) d.get(i);
                }
            }
            case F16 -> {
                ShortBuffer s = buf.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[at + i] = HalfFloats.f16ToFloat(s.get(i));
                }
            }
            case BF16 -> {
                ShortBuffer s = buf.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[at + i] = HalfFloats.bf16ToFloat(s.get(i));
                }
            }
        }
    }

    /** As {@link #decodeFloats}, into doubles. */
    static void decodeDoubles(SafeTensorsDType dtype, ByteBuffer buf, double[] out, int at, int n) {
        switch (dtype) {
            case F64 -> buf.asDoubleBuffer().get(out, at, n);
            case F32 -> {
                FloatBuffer f = buf.asFloatBuffer();
                for (int i = 0; i < n; i++) {
                    out[at + i] = f.get(i);
                }
            }
            case F16 -> {
                ShortBuffer s = buf.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[at + i] = HalfFloats.f16ToFloat(s.get(i));
                }
            }
            case BF16 -> {
                ShortBuffer s = buf.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[at + i] = HalfFloats.bf16ToFloat(s.get(i));
                }
            }
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer dst, long position, Path file) throws IOException {
        long end = position + dst.remaining();
        while (dst.hasRemaining()) {
            int r = channel.read(dst, position);
            if (r < 0) {
                throw new SafeTensorsFormatException(file + ": byte offset " + position + ": unexpected end of file"
                        + " (wanted bytes up to " + end + ")");
            }
            position += r;
        }
    }

    @Override
    public String toString() {
        return "SafeTensorsReader[" + file + ", " + header.entries().size() + " tensors]";
    }
}
