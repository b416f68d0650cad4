package io.ssmspark.model.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Test fixtures in torch.save's zip format, written the way torch writes them (no Python or torch here):
 * <ul>
 * <li>the pickle is protocol 2 as CPython's pickler emits it for {@code torch.save(model.state_dict(), f)}: an
 * OrderedDict (GLOBAL, EMPTY_TUPLE, REDUCE) filled by SETITEMS in batches of 1000, each value
 * {@code torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, False, OrderedDict())} with the storage
 * as persistent id {@code ('storage', torch.<Type>Storage, key, 'cpu', numel)} (torch/serialization.py
 * {@code _save}, torch/_tensor.py {@code _reduce_ex_internal}), then the {@code _metadata} attribute by BUILD.
 * Every object is memoized with BINPUT/LONG_BINPUT as CPython does, and objects that are one Python object in torch
 * (the 'storage' and 'cpu' strings, a storage's key, the globals, 'version') are fetched again with BINGET;</li>
 * <li>the zip holds {@code <folder>/data.pkl}, {@code <folder>/byteorder}, {@code <folder>/data/<key>} in key order,
 * {@code <folder>/version} and {@code <folder>/.data/serialization_id}, stored uncompressed with each record's data
 * aligned to 64 bytes by an extra field, as torch's PyTorchStreamWriter does.</li>
 * </ul>
 * A byte-level comparison with CPython's own pickler (run once, by hand, with stand-in torch classes) gave the same
 * bytes for the same state dict.
 */
public final class TorchZipWriter {
    /** Storage element types, by the class name the pickle uses. */
    public enum Dtype {
        F64("DoubleStorage", 8),
        F32("FloatStorage", 4),
        F16("HalfStorage", 2),
        BF16("BFloat16Storage", 2),
        I64("LongStorage", 8);

        final String storageClass;
        final int itemSize;

        Dtype(String storageClass, int itemSize) {
            this.storageClass = storageClass;
            this.itemSize = itemSize;
        }
    }

    /** One storage: a key and raw element bytes (already in the archive's byte order). */
    public record Storage(String key, Dtype dtype, byte[] bytes, long numel) {
        public static Storage of(String key, Dtype dtype, byte[] bytes) {
            return new Storage(key, dtype, bytes, bytes.length / dtype.itemSize);
        }
    }

    /** One state-dict entry. */
    public record Tensor(String name, Storage storage, long offset, long[] shape, long[] stride) {
        /** A contiguous tensor that starts at the beginning of its storage. */
        public static Tensor contiguous(String name, Storage storage, long... shape) {
            long[] stride = new long[shape.length];
            long s = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                stride[i] = s;
                s *= shape[i];
            }
            return new Tensor(name, storage, 0, shape, stride);
        }
    }

    /** Options of the archive. */
    public record Options(String folder, String byteorder, boolean metadata) {
        public static final Options DEFAULT = new Options("archive", "little", true);

        public Options folder(String f) {
            return new Options(f, byteorder, metadata);
        }

        public Options byteorder(String b) {
            return new Options(folder, b, metadata);
        }
    }

    private TorchZipWriter() {}

    /** Writes {@code tensors} (a state dict, in order) as torch.save would. */
    public static void write(Path file, List<Tensor> tensors, Options options) throws IOException {
        Map<String, Storage> storages = new TreeMap<>(); // torch writes data/<key> sorted by key string
        for (Tensor t : tensors) {
            storages.putIfAbsent(t.storage().key(), t.storage());
        }
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("data.pkl", pickle(tensors, options.metadata()));
        if (options.byteorder() != null) {
            records.put("byteorder", options.byteorder().getBytes(StandardCharsets.US_ASCII));
        }
        for (Storage s : storages.values()) {
            records.put("data/" + s.key(), s.bytes());
        }
        records.put("version", "3\n".getBytes(StandardCharsets.US_ASCII));
        records.put(
                ".data/serialization_id",
                "1234567890123456789012345678901234567890".getBytes(StandardCharsets.US_ASCII));
        writeZip(file, options.folder(), records);
    }

    /** Stored (uncompressed) zip records under {@code folder}/, each record's data aligned to 64 bytes. */
    public static void writeZip(Path file, String folder, Map<String, byte[]> records) throws IOException {
        try (CountingStream counting = new CountingStream(Files.newOutputStream(file));
                ZipOutputStream zip = new ZipOutputStream(counting)) {
            zip.setMethod(ZipOutputStream.STORED);
            for (Map.Entry<String, byte[]> r : records.entrySet()) {
                String name = folder + "/" + r.getKey();
                byte[] data = r.getValue();
                ZipEntry e = new ZipEntry(name);
                CRC32 crc = new CRC32();
                crc.update(data);
                e.setSize(data.length);
                e.setCompressedSize(data.length);
                e.setCrc(crc.getValue());
                zip.flush();
                long headerAt = counting.count;
                int nameLength = name.getBytes(StandardCharsets.UTF_8).length;
                long dataAt = headerAt + 30 + nameLength + 4;
                int pad = (int) ((64 - dataAt % 64) % 64);
                byte[] extra = new byte[4 + pad]; // id "FB", length, then padding, as PyTorchStreamWriter writes
                extra[0] = 'F';
                extra[1] = 'B';
                extra[2] = (byte) pad;
                extra[3] = (byte) (pad >> 8);
                for (int i = 4; i < extra.length; i++) {
                    extra[i] = 'Z';
                }
                e.setExtra(extra);
                zip.putNextEntry(e);
                zip.write(data);
                zip.closeEntry();
            }
        }
    }

    private static final class CountingStream extends FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    // ---- the pickle ----------------------------------------------------------------------------------------

    /** The protocol-2 pickle of an OrderedDict state dict of these tensors, as CPython writes it. */
    public static byte[] pickle(List<Tensor> tensors, boolean metadata) {
        Pickler p = new Pickler();
        p.op(0x80).op(2); // PROTO 2
        p.global("collections", "OrderedDict");
        p.op(')').op('R').put(); // OrderedDict()
        List<Runnable> items = new ArrayList<>();
        for (Tensor t : tensors) {
            items.add(() -> {
                p.unicode(t.name(), null);
                p.tensor(t);
            });
        }
        p.batchSetItems(items);
        if (metadata) {
            // state = {'_metadata': OrderedDict(module path -> {'version': 1})}, then BUILD
            p.op('}').put();
            p.unicode("_metadata", null);
            p.global("collections", "OrderedDict");
            p.op(')').op('R').put();
            List<Runnable> modules = new ArrayList<>();
            for (String module : modulePaths(tensors)) {
                modules.add(() -> {
                    p.unicode(module, null);
                    p.op('}').put();
                    p.unicode("version", "version");
                    p.integer(1);
                    p.op('s');
                });
            }
            p.batchSetItems(modules);
            p.op('s');
            p.op('b');
        }
        p.op('.');
        return p.out.toByteArray();
    }

    /** '' and every module path of the tensor names, in order of first appearance (a module tree's pre-order). */
    private static List<String> modulePaths(List<Tensor> tensors) {
        List<String> out = new ArrayList<>();
        out.add("");
        for (Tensor t : tensors) {
            String[] parts = t.name().split("\\.");
            StringBuilder path = new StringBuilder();
            for (int i = 0; i < parts.length - 1; i++) {
                path.append(i > 0 ? "." : "").append(parts[i]);
                if (!out.contains(path.toString())) {
                    out.add(path.toString());
                }
            }
        }
        return out;
    }

    /** Emits opcodes with CPython's memo discipline. */
    private static final class Pickler {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        /** Objects that are one Python object in torch's pickling, by a key of ours, to their memo index. */
        final Map<String, Integer> shared = new HashMap<>();

        int memoSize;

        Pickler op(int b) {
            out.write(b);
            return this;
        }

        void raw(byte[] b) {
            out.write(b, 0, b.length);
        }

        /** BINPUT or LONG_BINPUT of the object just saved; returns its index. */
        int put() {
            int idx = memoSize++;
            if (idx < 256) {
                op('q').op(idx);
            } else {
                op('r');
                raw(ByteBuffer.allocate(4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(idx)
                        .array());
            }
            return idx;
        }

        /** Saves an object identified by {@code identity} again with BINGET, or first with {@code save} and PUT. */
        boolean memoized(String identity) {
            Integer idx = identity == null ? null : shared.get(identity);
            if (idx == null) {
                return false;
            }
            if (idx < 256) {
                op('h').op(idx);
            } else {
                op('j');
                raw(ByteBuffer.allocate(4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(idx)
                        .array());
            }
            return true;
        }

        void remember(String identity, int idx) {
            if (identity != null) {
                shared.put(identity, idx);
            }
        }

        void unicode(String s, String identity) {
            if (memoized(identity == null ? null : "str:" + identity)) {
                return;
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            raw(ByteBuffer.allocate(4)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(b.length)
                    .array());
            raw(b);
            remember(identity == null ? null : "str:" + identity, put());
        }

        void global(String module, String name) {
            String identity = "global:" + module + "." + name;
            if (memoized(identity)) {
                return;
            }
            op('c');
            raw((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            remember(identity, put());
        }

        /** CPython's save_long for protocol 2. */
        void integer(long v) {
            if (v >= 0 && v <= 0xFF) {
                op('K').op((int) v);
            } else if (v >= 0 && v <= 0xFFFF) {
                op('M').op((int) (v & 0xFF)).op((int) (v >> 8));
            } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                op('J');
                raw(ByteBuffer.allocate(4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt((int) v)
                        .array());
            } else {
                // LONG1: the shortest little-endian two's-complement encoding (pickle.encode_long)
                byte[] le = ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(v)
                        .array();
                int n = 8;
                while (n > 1
                        && ((le[n - 1] == 0 && (le[n - 2] & 0x80) == 0)
                                || (le[n - 1] == (byte) 0xFF && (le[n - 2] & 0x80) != 0))) {
                    n--;
                }
                op(0x8a).op(n);
                out.write(le, 0, n);
            }
        }

        /** A tuple of ints: EMPTY_TUPLE (not memoized), TUPLE1-3, or MARK ... TUPLE; then PUT. */
        void intTuple(long[] values) {
            if (values.length == 0) {
                op(')');
                return;
            }
            if (values.length > 3) {
                op('(');
            }
            for (long v : values) {
                integer(v);
            }
            op(values.length > 3 ? 't' : 0x84 + values.length);
            put();
        }

        void tensor(Tensor t) {
            global("torch._utils", "_rebuild_tensor_v2");
            op('('); // the six arguments
            op('('); // the persistent id
            unicode("storage", "storage");
            global("torch", t.storage().dtype().storageClass);
            unicode(t.storage().key(), "key:" + t.storage().key());
            unicode("cpu", "cpu");
            integer(t.storage().numel());
            op('t');
            put();
            op('Q'); // BINPERSID
            integer(t.offset());
            intTuple(t.shape());
            intTuple(t.stride());
            op(0x89); // requires_grad False
            global("collections", "OrderedDict"); // backward_hooks = OrderedDict()
            op(')').op('R');
            put();
            op('t');
            put();
            op('R');
            put();
        }

        /** CPython's _batch_setitems: MARK k v ... SETITEMS per 1000 items, a lone item as k v SETITEM. */
        void batchSetItems(List<Runnable> items) {
            for (int from = 0; from < items.size(); from += 1000) {
                int to = Math.min(items.size(), from + 1000);
                if (to - from == 1) {
                    items.get(from).run();
                    op('s');
                } else {
                    op('(');
                    for (int i = from; i < to; i++) {
                        items.get(i).run();
                    }
                    op('u');
                }
            }
        }
    }
}
