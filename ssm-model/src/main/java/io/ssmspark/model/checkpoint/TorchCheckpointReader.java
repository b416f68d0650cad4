package io.ssmspark.model.checkpoint;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads a state dict saved by {@code torch.save} in its zip format (the default since torch 1.6; torch/serialization.py
 * {@code _save}): a zip archive whose records all lie under one folder ({@code archive/}, or the file's stem),
 * {@code <folder>/data.pkl} (the pickled state dict, read by the restricted {@link TorchPickle}), {@code
 * <folder>/byteorder} ("little" or "big"; absent means little, as torch's {@code _load} assumes when no byte-order
 * record exists) and one record {@code <folder>/data/<key>} of raw elements per storage. Tensors are read on demand,
 * contiguous or strided (copied into c order), F32, F16, BF16 or F64, as FLOAT or DOUBLE. The legacy non-zip format is
 * refused with a message saying how to convert it. Nothing in the file is executed. Not thread-safe; close it.
 */
public final class TorchCheckpointReader implements TensorFile {
    /** data.pkl of a state dict is kilobytes to a few megabytes; a bigger one is not a state dict. */
    static final int MAX_PICKLE_BYTES = 1 << 30;
    /** Bytes per bulk read; a multiple of every item size. */
    private static final int CHUNK_BYTES = 1 << 22;

    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};
    /**
     * torch.serialization.MAGIC_NUMBER 0x1950a86a20f9469cfc6c, the first object of the legacy format, as pickle
     * protocol 2 writes it: LONG1 with 10 little-endian bytes.
     */
    private static final byte[] LEGACY_MAGIC = {
        (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19
    };

    private static final Pattern DATA_PKL = Pattern.compile("([^/]+)/data\\.pkl");
    static final String LEGACY_ADVICE = "ssm-spark reads only torch.save's zip format (the default since torch 1.6)."
            + " Convert it with torch: sd = torch.load(f, map_location=\"cpu\", weights_only=True); then"
            + " torch.save(sd, \"pytorch_model.bin\") with the default zip serialization, or save it as safetensors"
            + " (safetensors.torch.save_file(sd, \"model.safetensors\"))";

    private final Path file;
    private final ZipFile zip;
    private final String folder;
    private final ByteOrder order;
    private final Map<String, TorchPickle.Tensor> tensors;
    private final Map<String, ZipEntry> storageRecords;

    private TorchCheckpointReader(
            Path file,
            ZipFile zip,
            String folder,
            ByteOrder order,
            Map<String, TorchPickle.Tensor> tensors,
            Map<String, ZipEntry> storageRecords) {
        this.file = file;
        this.zip = zip;
        this.folder = folder;
        this.order = order;
        this.tensors = tensors;
        this.storageRecords = storageRecords;
    }

    /**
     * Opens the archive, parses its pickle and checks that every tensor's storage record exists and holds the
     * elements the tensor spans. Element types are checked when a tensor is read ({@link #read}).
     */
    public static TorchCheckpointReader open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "torch checkpoint file not found");
        }
        checkSignature(file);
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new TorchFormatException(
                    file + ": not a complete zip archive (" + e.getMessage()
                            + "): the file is truncated or damaged; download or save it again",
                    e);
        }
        try {
            return read(file, zip);
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    /** A zip archive starts with a local file header; the legacy format with a pickle (or, older still, a tar). */
    private static void checkSignature(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(512);
        }
        if (startsWith(head, ZIP_MAGIC, 0)) {
            return;
        }
        boolean legacyPickle =
                head.length >= 2 + LEGACY_MAGIC.length && (head[0] & 0xFF) == 0x80 && startsWith(head, LEGACY_MAGIC, 2);
        boolean legacyTar = head.length >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        if (legacyPickle || legacyTar) {
            throw new TorchFormatException(file + ": written by torch.save in the legacy "
                    + (legacyTar ? "tar" : "non-zip") + " format (_use_new_zipfile_serialization=False, or torch"
                    + " older than 1.6). " + LEGACY_ADVICE);
        }
        throw new TorchFormatException(file + ": not a torch.save archive: "
                + (head.length == 0 ? "the file is empty" : "it does not start with the zip signature PK\\3\\4"));
    }

    private static boolean startsWith(byte[] b, byte[] prefix, int at) {
        if (b.length < at + prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b[at + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static TorchCheckpointReader read(Path file, ZipFile zip) throws IOException {
        List<String> pickles = new ArrayList<>();
        boolean torchScript = false;
        for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
            String name = e.nextElement().getName();
            if (DATA_PKL.matcher(name).matches()) {
                pickles.add(name);
            }
            torchScript |= name.endsWith("/constants.pkl");
        }
        if (torchScript) {
            throw new TorchFormatException(file + ": a TorchScript archive (torch.jit.save), not a state dict saved"
                    + " by torch.save; save model.state_dict() with torch.save instead");
        }
        if (pickles.size() != 1) {
            throw new TorchFormatException(file + ": "
                    + (pickles.isEmpty()
                            ? "the zip archive has no <folder>/data.pkl" + " record: not written by torch.save"
                            : "the zip archive has " + pickles.size() + " data.pkl records " + pickles
                                    + "; torch.save writes one"));
        }
        Matcher m = DATA_PKL.matcher(pickles.get(0));
        m.matches();
        String folder = m.group(1);
        ByteOrder order = byteOrder(file, zip, folder);

        ZipEntry pickleEntry = zip.getEntry(pickles.get(0));
        byte[] pickle = readRecord(file, zip, pickleEntry);
        TorchPickle.StateDict stateDict = TorchPickle.parse(pickle, file + ": record '" + pickleEntry.getName() + "'");

        Map<String, TorchPickle.Tensor> tensors = new LinkedHashMap<>();
        Map<String, ZipEntry> storageRecords = new LinkedHashMap<>();
        for (TorchPickle.Tensor t : stateDict.tensors()) {
            TorchPickle.Storage s = t.storage();
            ZipEntry record = storageRecords.get(s.key());
            if (record == null) {
                String recordName = folder + "/data/" + s.key();
                record = zip.getEntry(recordName);
                if (record == null || record.isDirectory()) {
                    throw new TorchFormatException(file + ": tensor '" + t.name() + "' uses storage '" + s.key()
                            + "', but the archive has no record '" + recordName + "'");
                }
                long declared = s.numel() * s.dtype().itemSize();
                if (record.getSize() < declared) {
                    throw new TorchFormatException(file + ": record '" + recordName + "' holds " + record.getSize()
                            + " bytes, but storage '" + s.key() + "' is declared as " + s.numel() + " "
                            + s.dtype().torchName() + " elements (" + declared + " bytes): the file is truncated or"
                            + " damaged");
                }
                storageRecords.put(s.key(), record);
            }
            long end = t.storageOffset() + t.extent();
            if (t.numel() > 0 && end > s.numel()) {
                throw new TorchFormatException(file + ": tensor '" + t.name() + "' ("
                        + s.dtype().torchName()
                        + ", size " + Arrays.toString(t.shape()) + ", stride " + Arrays.toString(t.stride())
                        + ", storage offset " + t.storageOffset() + ") needs elements [" + t.storageOffset() + ", "
                        + end + ") of storage '" + s.key() + "', which holds only " + s.numel() + " elements");
            }
            tensors.put(t.name(), t);
        }
        return new TorchCheckpointReader(
                file, zip, folder, order, Collections.unmodifiableMap(tensors), storageRecords);
    }

    private static ByteOrder byteOrder(Path file, ZipFile zip, String folder) throws IOException {
        ZipEntry e = zip.getEntry(folder + "/byteorder");
        if (e == null) {
            return ByteOrder.LITTLE_ENDIAN; // torch/serialization.py _load: no byteorder record means little
        }
        if (e.getSize() > 16) {
            throw new TorchFormatException(file + ": record '" + e.getName() + "' holds " + e.getSize()
                    + " bytes; expected \"little\" or \"big\"");
        }
        String v = new String(readRecord(file, zip, e), StandardCharsets.US_ASCII);
        return switch (v) {
            case "little" -> ByteOrder.LITTLE_ENDIAN;
            case "big" -> ByteOrder.BIG_ENDIAN;
            default ->
                throw new TorchFormatException(
                        file + ": record '" + e.getName() + "' says \"" + v + "\"; expected \"little\" or \"big\"");
        };
    }

    private static byte[] readRecord(Path file, ZipFile zip, ZipEntry e) throws IOException {
        if (e.getSize() > MAX_PICKLE_BYTES) {
            throw new TorchFormatException(file + ": record '" + e.getName() + "' holds " + e.getSize()
                    + " bytes, more than a state dict's pickle (" + MAX_PICKLE_BYTES + ")");
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) e.getSize());
            if (b.length != e.getSize()) {
                throw new TorchFormatException(file + ": record '" + e.getName() + "' ends after " + b.length
                        + " of its " + e.getSize() + " bytes: the file is truncated or damaged");
            }
            return b;
        } catch (ZipException | EOFException ex) {
            throw new TorchFormatException(
                    file + ": record '" + e.getName() + "' cannot be read (" + ex.getMessage()
                            + "): the file is truncated or damaged",
                    ex);
        }
    }

    @Override
    public Path file() {
        return file;
    }

    /** The archive's folder: "archive" for files torch ≥ 2 wrote, or the file's stem for older versions. */
    public String folder() {
        return folder;
    }

    public ByteOrder byteOrder() {
        return order;
    }

    /** The tensors in the state dict's order; dtype "F32", "F16", "BF16", "F64", or torch's name when unreadable. */
    @Override
    public List<StoredTensor> tensors() {
        List<StoredTensor> out = new ArrayList<>();
        for (TorchPickle.Tensor t : tensors.values()) {
            TorchDType d = t.storage().dtype();
            out.add(new StoredTensor(
                    t.name(), d.readAs() != null ? d.readAs().name() : d.torchName(), t.shape(), d.readAs() != null));
        }
        return out;
    }

    /** Number of distinct storages the tensors use (tied weights share one). */
    public int storageCount() {
        return storageRecords.size();
    }

    @Override
    public INDArray read(String name, DataType type) throws IOException {
        TorchPickle.Tensor t = tensors.get(name);
        if (t == null) {
            throw new TorchFormatException(file + ": no tensor named '" + name + "'");
        }
        if (type != DataType.FLOAT && type != DataType.DOUBLE) {
            throw new IllegalArgumentException("tensors are read as FLOAT or DOUBLE, not " + type);
        }
        TorchDType dtype = t.storage().dtype();
        SafeTensorsDType encoding = dtype.readAs();
        if (encoding == null) {
            throw new TorchFormatException(unsupportedDtype(file, name, dtype));
        }
        long count = t.numel();
        long span = t.extent();
        if (count > Integer.MAX_VALUE - 8 || span > Integer.MAX_VALUE - 8) {
            throw new TorchFormatException(file + ": tensor '" + name + "' spans " + Math.max(count, span)
                    + " elements, more than one Java array can hold");
        }
        long[] shape = t.shape();
        if (count == 0) {
            return Nd4j.create(type, shape);
        }
        ZipEntry record = storageRecords.get(t.storage().key());
        long skip = t.storageOffset() * dtype.itemSize();
        if (type == DataType.FLOAT) {
            float[] values = new float[(int) span];
            readElements(
                    record,
                    skip,
                    span,
                    encoding,
                    (buf, at, n) -> SafeTensorsReader.decodeFloats(encoding, buf, values, at, n));
            float[] out = t.contiguous() ? values : gather(values, t);
            return shape.length == 0 ? Nd4j.scalar(out[0]) : Nd4j.create(out, shape, DataType.FLOAT);
        }
        double[] values = new double[(int) span];
        readElements(
                record,
                skip,
                span,
                encoding,
                (buf, at, n) -> SafeTensorsReader.decodeDoubles(encoding, buf, values, at, n));
        double[] out = t.contiguous() ? values : gather(values, t);
        return shape.length == 0 ? Nd4j.scalar(out[0]) : Nd4j.create(out, shape, DataType.DOUBLE);
    }

    static String unsupportedDtype(Path file, String name, TorchDType dtype) {
        return file + ": tensor '" + name + "' has dtype " + dtype.torchName() + " (torch." + dtype.storageName()
                + "); ssm-spark reads float32, float16, bfloat16 and float64 weights";
    }

    @FunctionalInterface
    private interface ChunkDecoder {
        void decode(ByteBuffer buf, int at, int n);
    }

    /** Streams {@code count} elements from byte {@code skip} of the record, in chunks, through the decoder. */
    private void readElements(ZipEntry record, long skip, long count, SafeTensorsDType encoding, ChunkDecoder decoder)
            throws IOException {
        int itemSize = encoding.itemSize();
        long total = count * itemSize;
        byte[] chunk = new byte[(int) Math.min(CHUNK_BYTES, total)];
        try (InputStream in = zip.getInputStream(record)) {
            in.skipNBytes(skip);
            long done = 0;
            while (done < total) {
                int want = (int) Math.min(chunk.length, total - done);
                int got = in.readNBytes(chunk, 0, want);
                if (got != want) {
                    throw new EOFException("record ends after " + (skip + done + got) + " bytes");
                }
                decoder.decode(ByteBuffer.wrap(chunk, 0, want).order(order), (int) (done / itemSize), want / itemSize);
                done += want;
            }
        } catch (ZipException | EOFException e) {
            throw new TorchFormatException(
                    file + ": record '" + record.getName() + "' cannot be read (" + e.getMessage()
                            + "): the file is truncated or damaged",
                    e);
        }
    }

    /** The strided tensor's elements in c order, from the storage span that starts at its offset. */
    private static float[] gather(float[] span, TorchPickle.Tensor t) {
        float[] out = new float[(int) t.numel()];
        StridedIndex index = new StridedIndex(t.shape(), t.stride());
        for (int i = 0; i < out.length; i++, index.next()) {
            out[i] = span[(int) index.offset];
        }
        return out;
    }

    private static double[] gather(double[] span, TorchPickle.Tensor t) {
        double[] out = new double[(int) t.numel()];
        StridedIndex index = new StridedIndex(t.shape(), t.stride());
        for (int i = 0; i < out.length; i++, index.next()) {
            out[i] = span[(int) index.offset];
        }
        return out;
    }

    /** Walks a shape in c order, keeping the storage offset sum(i_k * stride_k) of the current element. */
    private static final class StridedIndex {
        private final long[] shape;
        private final long[] stride;
        private final long[] i;
        long offset;

        StridedIndex(long[] shape, long[] stride) {
            this.shape = shape;
            this.stride = stride;
            this.i = new long[shape.length];
        }

        void next() {
            for (int k = shape.length - 1; k >= 0; k--) {
                i[k]++;
                offset += stride[k];
                if (i[k] < shape[k]) {
                    return;
                }
                offset -= i[k] * stride[k];
                i[k] = 0;
            }
        }
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }

    @Override
    public String toString() {
        return "TorchCheckpointReader[" + file + ", " + tensors.size() + " tensors]";
    }
}
