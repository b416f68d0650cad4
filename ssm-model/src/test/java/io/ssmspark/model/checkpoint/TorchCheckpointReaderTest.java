package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The torch.save zip reader and its restricted unpickler, on archives written by {@link TorchZipWriter}. */
class TorchCheckpointReaderTest {
    @TempDir
    Path dir;

    private static byte[] f32(ByteOrder order, float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(order);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    private static float[] iota(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (i - n / 2) * scale;
        }
        return v;
    }

    /**
     * Every supported element type, a scalar, a 4-D tensor, two tensors at different offsets of one storage, a
     * transposed (non-contiguous) view and a broadcast (stride 0) view: each read as FLOAT and DOUBLE equals the
     * values written, element for element.
     */
    @Test
    void readsEveryDtypeAndLayoutExactly() throws IOException {
        float[] base = iota(24, 0.25f); // exact in every format
        INDArray values = Nd4j.createFromArray(base);
        TorchZipWriter.Storage f32 =
                TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.F32, f32(ByteOrder.LITTLE_ENDIAN, base));
        TorchZipWriter.Storage bf16 = TorchZipWriter.Storage.of(
                "1", TorchZipWriter.Dtype.BF16, TestEncodings.encode(values, "BF16", ByteOrder.LITTLE_ENDIAN));
        TorchZipWriter.Storage f16 = TorchZipWriter.Storage.of(
                "2", TorchZipWriter.Dtype.F16, TestEncodings.encode(values, "F16", ByteOrder.LITTLE_ENDIAN));
        TorchZipWriter.Storage f64 = TorchZipWriter.Storage.of(
                "3", TorchZipWriter.Dtype.F64, TestEncodings.encode(values, "F64", ByteOrder.LITTLE_ENDIAN));
        List<TorchZipWriter.Tensor> tensors = List.of(
                TorchZipWriter.Tensor.contiguous("f32.4d", f32, 2, 3, 2, 2),
                TorchZipWriter.Tensor.contiguous("bf16.2d", bf16, 4, 6),
                TorchZipWriter.Tensor.contiguous("f16.1d", f16, 24),
                TorchZipWriter.Tensor.contiguous("f64.2d", f64, 6, 4),
                new TorchZipWriter.Tensor("f32.tail", f32, 20, new long[] {2, 2}, new long[] {2, 1}),
                new TorchZipWriter.Tensor("f32.scalar", f32, 5, new long[] {}, new long[] {}),
                new TorchZipWriter.Tensor("bf16.transposed", bf16, 0, new long[] {6, 4}, new long[] {1, 6}),
                new TorchZipWriter.Tensor("f32.broadcast", f32, 3, new long[] {3, 2}, new long[] {0, 1}));
        Path file = dir.resolve("all.bin");
        TorchZipWriter.write(file, tensors, TorchZipWriter.Options.DEFAULT);

        try (TorchCheckpointReader r = TorchCheckpointReader.open(file)) {
            assertEquals("archive", r.folder());
            assertEquals(ByteOrder.LITTLE_ENDIAN, r.byteOrder());
            assertEquals(4, r.storageCount());
            assertEquals(
                    List.of(
                            "f32.4d F32 [2, 3, 2, 2]",
                            "bf16.2d BF16 [4, 6]",
                            "f16.1d F16 [24]",
                            "f64.2d F64 [6, 4]",
                            "f32.tail F32 [2, 2]",
                            "f32.scalar F32 []",
                            "bf16.transposed BF16 [6, 4]",
                            "f32.broadcast F32 [3, 2]"),
                    r.tensors().stream().map(StoredTensor::toString).toList());
            for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
                INDArray v = values.castTo(type);
                assertEquals(v.reshape(2, 3, 2, 2), r.read("f32.4d", type));
                assertEquals(v.reshape(4, 6), r.read("bf16.2d", type));
                assertEquals(v, r.read("f16.1d", type));
                assertEquals(v.reshape(6, 4), r.read("f64.2d", type));
                assertEquals(
                        v.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(20, 24))
                                .reshape(2, 2),
                        r.read("f32.tail", type));
                INDArray scalar = r.read("f32.scalar", type);
                assertEquals(0, scalar.rank());
                assertEquals(base[5], scalar.getDouble(0), 0.0);
                assertEquals(v.reshape(4, 6).transpose(), r.read("bf16.transposed", type));
                INDArray broadcast = r.read("f32.broadcast", type);
                for (int i = 0; i < 3; i++) {
                    assertEquals(base[3], broadcast.getDouble(i, 0), 0.0);
                    assertEquals(base[4], broadcast.getDouble(i, 1), 0.0);
                }
            }
        }
    }

    /** A "big" byteorder record is honoured, no byteorder record means little endian, and any folder name is read. */
    @Test
    void honoursTheByteOrderRecordAndAnyFolder() throws IOException {
        float[] v = {1.5f, -2.25f, 3e-3f};
        for (String order : new String[] {"big", "little", null}) {
            ByteOrder bo = "big".equals(order) ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            TorchZipWriter.Storage s = TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.F32, f32(bo, v));
            Path file = dir.resolve("order-" + order + ".bin");
            TorchZipWriter.write(
                    file,
                    List.of(TorchZipWriter.Tensor.contiguous("w", s, 3)),
                    TorchZipWriter.Options.DEFAULT.folder("pytorch_model").byteorder(order));
            try (TorchCheckpointReader r = TorchCheckpointReader.open(file)) {
                assertEquals("pytorch_model", r.folder());
                assertEquals(bo, r.byteOrder());
                assertArrayEquals(v, r.read("w", DataType.FLOAT).toFloatVector(), 0f);
            }
        }
        Path odd = dir.resolve("odd.bin");
        TorchZipWriter.write(
                odd,
                List.of(TorchZipWriter.Tensor.contiguous(
                        "w", TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.F32, new byte[4]), 1)),
                TorchZipWriter.Options.DEFAULT.byteorder("middle"));
        assertMessage(odd, odd + ": record 'archive/byteorder' says \"middle\"; expected \"little\" or \"big\"");
    }

    /** A state dict saved with keep_vars=True wraps each tensor in _rebuild_parameter: read the same way. */
    @Test
    void readsParametersSavedWithKeepVars() throws IOException {
        TorchZipWriter.Storage s =
                TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.F32, f32(ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4));
        byte[] plain = TorchZipWriter.pickle(List.of(TorchZipWriter.Tensor.contiguous("w", s, 2, 2)), false);
        // ... key, GLOBAL _rebuild_tensor_v2 ... REDUCE BINPUT n | SETITEM STOP. Wrap the tensor:
        // GLOBAL _rebuild_parameter, <tensor>, NEWTRUE, OrderedDict(), TUPLE3, REDUCE.
        int keyEnd = indexOf(plain, "ctorch._utils\n_rebuild_tensor_v2\n".getBytes(StandardCharsets.US_ASCII));
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        o.write(plain, 0, keyEnd);
        o.writeBytes("ctorch._utils\n_rebuild_parameter\n".getBytes(StandardCharsets.US_ASCII));
        o.write(plain, keyEnd, plain.length - 2 - keyEnd);
        o.writeBytes(new byte[] {(byte) 0x88, 'h', 0, ')', 'R', (byte) 0x87, 'R', 's', '.'});
        Path file = dir.resolve("keepvars.bin");
        TorchZipWriter.writeZip(file, "archive", Map.of("data.pkl", o.toByteArray(), "data/0", s.bytes()));
        try (TorchCheckpointReader r = TorchCheckpointReader.open(file)) {
            assertEquals(Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}}), r.read("w", DataType.FLOAT));
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalArgumentException("not found");
    }

    /**
     * A pickle that would run os.system, posix.system, builtins.exec or subprocess.Popen (each creates a file when
     * CPython unpickles it) is refused with one message naming the file, the byte offset and the global; nothing runs.
     */
    @Test
    void refusesHostilePicklesByNameAndRunsNothing() throws IOException {
        Path target = dir.resolve("pwned");
        int i = 0;
        for (HostilePickles.Attack a : HostilePickles.all(target.toString())) {
            Path file = dir.resolve("hostile-" + i++ + ".bin");
            TorchZipWriter.writeZip(file, "archive", Map.of("data.pkl", a.pickle(), "data/0", new byte[8]));
            RefusedPickleException e =
                    assertThrows(RefusedPickleException.class, () -> TorchCheckpointReader.open(file));
            assertEquals(a.global(), e.refused());
            assertTrue(
                    e.getMessage()
                            .startsWith(file + ": record 'archive/data.pkl': byte offset " + e.offset()
                                    + ": refused global '" + a.global() + "'"),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("nothing from this file was executed"), e.getMessage());
            assertFalse(Files.exists(target), a.global() + " ran");
        }
        // the global hidden after a real tensor is found where it is, not at the start
        RefusedPickleException hidden = assertThrows(
                RefusedPickleException.class, () -> TorchCheckpointReader.open(dir.resolve("hostile-4.bin")));
        assertTrue(hidden.offset() > 100, "offset " + hidden.offset());
        assertFalse(Files.exists(target));
    }

    /** Opcodes a state dict never needs are refused by their pickletools name, with the byte offset. */
    @Test
    void refusesUnknownOpcodesByName() throws IOException {
        byte[][] pickles = {
            {(byte) 0x80, 2, 'i', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', '.'}, // INST
            {(byte) 0x80, 2, ')', (byte) 0x81, '.'}, // NEWOBJ
            {(byte) 0x80, 2, (byte) 0x82, 1, '.'}, // EXT1
            {(byte) 0x80, 2, 'P', '1', '\n', '.'}, // PERSID
            {(byte) 0x80, 2, (byte) 0xfe, '.'}
        }; // none at all
        String[] names = {"INST", "NEWOBJ", "EXT1", "PERSID", "no pickle opcode"};
        String[] codes = {"0x69", "0x81", "0x82", "0x50", "0xfe"};
        for (int i = 0; i < pickles.length; i++) {
            Path file = dir.resolve("op" + i + ".bin");
            TorchZipWriter.writeZip(file, "archive", Map.of("data.pkl", pickles[i]));
            RefusedPickleException e =
                    assertThrows(RefusedPickleException.class, () -> TorchCheckpointReader.open(file));
            assertEquals(
                    file + ": record 'archive/data.pkl': byte offset " + (i == 1 ? 3 : 2) + ": refused opcode "
                            + codes[i] + " (" + names[i]
                            + "), which a tensor state dict written by torch.save does not use;"
                            + " nothing from this file was executed",
                    e.getMessage());
        }
    }

    /** The legacy (non-zip) format, identified by torch's magic number, is refused with how to convert it. */
    @Test
    void refusesTheLegacyFormatSayingHowToConvert() throws IOException {
        Path file = dir.resolve("legacy.bin");
        // torch.save(..., _use_new_zipfile_serialization=False): pickle.dump(MAGIC_NUMBER, protocol 2), ...
        Files.write(file, new byte[] {
            (byte) 0x80,
            2,
            (byte) 0x8a,
            0x0a,
            0x6c,
            (byte) 0xfc,
            (byte) 0x9c,
            0x46,
            (byte) 0xf9,
            0x20,
            0x6a,
            (byte) 0xa8,
            0x50,
            0x19,
            '.',
            (byte) 0x80,
            2,
            'M',
            (byte) 0xe9,
            3,
            '.'
        });
        TorchFormatException e = assertThrows(TorchFormatException.class, () -> TorchCheckpointReader.open(file));
        assertEquals(
                file + ": written by torch.save in the legacy non-zip format (_use_new_zipfile_serialization=False,"
                        + " or torch older than 1.6). " + TorchCheckpointReader.LEGACY_ADVICE,
                e.getMessage());
        assertTrue(e.getMessage().contains("torch.save(sd, \"pytorch_model.bin\")"));
        assertTrue(e.getMessage().contains("safetensors.torch.save_file"));

        Path other = dir.resolve("other.bin");
        Files.writeString(other, "hello");
        assertMessage(other, other + ": not a torch.save archive: it does not start with the zip signature PK\\3\\4");
        Path empty = Files.createFile(dir.resolve("empty.bin"));
        assertMessage(empty, empty + ": not a torch.save archive: the file is empty");
    }

    /** A zip cut short (a download that stopped) is refused as truncated before anything is read. */
    @Test
    void refusesATruncatedZip() throws IOException {
        Path file = dir.resolve("whole.bin");
        TorchZipWriter.Storage s = TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.F32, new byte[4000]);
        TorchZipWriter.write(
                file, List.of(TorchZipWriter.Tensor.contiguous("w", s, 1000)), TorchZipWriter.Options.DEFAULT);
        byte[] whole = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(whole, whole.length / 2));
        TorchFormatException e = assertThrows(TorchFormatException.class, () -> TorchCheckpointReader.open(cut));
        assertTrue(e.getMessage().startsWith(cut + ": not a complete zip archive ("), e.getMessage());
        assertTrue(
                e.getMessage().endsWith("): the file is truncated or damaged; download or save it again"),
                e.getMessage());
    }

    /** A storage shorter than its tensor needs, or a record shorter than its storage, is refused naming both. */
    @Test
    void refusesAStorageShorterThanTheTensor() throws IOException {
        Path file = dir.resolve("short.bin");
        TorchZipWriter.Storage s = TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.BF16, new byte[2 * 10]);
        TorchZipWriter.write(
                file,
                List.of(new TorchZipWriter.Tensor("backbone.norm_f.weight", s, 4, new long[] {8}, new long[] {1})),
                TorchZipWriter.Options.DEFAULT);
        assertMessage(
                file,
                file + ": tensor 'backbone.norm_f.weight' (bfloat16, size [8], stride [1], storage offset 4)"
                        + " needs elements [4, 12) of storage '0', which holds only 10 elements");

        Path record = dir.resolve("record.bin");
        TorchZipWriter.Storage declared = new TorchZipWriter.Storage("0", TorchZipWriter.Dtype.F32, new byte[12], 8);
        TorchZipWriter.write(
                record, List.of(TorchZipWriter.Tensor.contiguous("w", declared, 8)), TorchZipWriter.Options.DEFAULT);
        assertMessage(
                record,
                record + ": record 'archive/data/0' holds 12 bytes, but storage '0' is declared as 8"
                        + " float32 elements (32 bytes): the file is truncated or damaged");

        Path missing = dir.resolve("missing.bin");
        TorchZipWriter.writeZip(
                missing,
                "archive",
                Map.of(
                        "data.pkl",
                        TorchZipWriter.pickle(List.of(TorchZipWriter.Tensor.contiguous("w", declared, 8)), true)));
        assertMessage(
                missing,
                missing + ": tensor 'w' uses storage '0', but the archive has no record" + " 'archive/data/0'");
    }

    /** int64 (and other non-float) tensors are listed but refused when read, naming the tensor and its dtype. */
    @Test
    void refusesUnsupportedDtypesByName() throws IOException {
        Path file = dir.resolve("int.bin");
        TorchZipWriter.Storage s = TorchZipWriter.Storage.of("0", TorchZipWriter.Dtype.I64, new byte[8 * 3]);
        TorchZipWriter.write(
                file, List.of(TorchZipWriter.Tensor.contiguous("steps", s, 3)), TorchZipWriter.Options.DEFAULT);
        try (TorchCheckpointReader r = TorchCheckpointReader.open(file)) {
            StoredTensor t = r.tensors().get(0);
            assertEquals("int64", t.dtype());
            assertFalse(t.readable());
            TorchFormatException e = assertThrows(TorchFormatException.class, () -> r.read("steps", DataType.FLOAT));
            assertEquals(
                    file + ": tensor 'steps' has dtype int64 (torch.LongStorage); ssm-spark reads float32, float16,"
                            + " bfloat16 and float64 weights",
                    e.getMessage());
        }
    }

    /** What is not a state dict is refused with one message: a nested checkpoint, a TorchScript archive, no STOP. */
    @Test
    void refusesWhatIsNotAStateDict() throws IOException {
        // {'model': OrderedDict()}: a training checkpoint
        byte[] nested = {
            (byte) 0x80,
            2,
            '}',
            'q',
            0,
            'X',
            5,
            0,
            0,
            0,
            'm',
            'o',
            'd',
            'e',
            'l',
            'c',
            'c',
            'o',
            'l',
            'l',
            'e',
            'c',
            't',
            'i',
            'o',
            'n',
            's',
            '\n',
            'O',
            'r',
            'd',
            'e',
            'r',
            'e',
            'd',
            'D',
            'i',
            'c',
            't',
            '\n',
            ')',
            'R',
            's',
            '.'
        };
        Path file = dir.resolve("nested.bin");
        TorchZipWriter.writeZip(file, "archive", Map.of("data.pkl", nested));
        assertMessage(
                file,
                file + ": record 'archive/data.pkl': entry 'model' is an empty dict, not a tensor"
                        + " (a training checkpoint that nests the state dict? save model.state_dict() itself)");

        Path script = dir.resolve("script.pt");
        TorchZipWriter.writeZip(
                script,
                "archive",
                Map.of("data.pkl", new byte[] {(byte) 0x80, 2, '}', '.'}, "constants.pkl", new byte[] {
                    (byte) 0x80, 2, ')', '.'
                }));
        assertMessage(
                script,
                script + ": a TorchScript archive (torch.jit.save), not a state dict saved by"
                        + " torch.save; save model.state_dict() with torch.save instead");

        Path noStop = dir.resolve("nostop.bin");
        TorchZipWriter.writeZip(noStop, "archive", Map.of("data.pkl", new byte[] {(byte) 0x80, 2, '}'}));
        assertMessage(
                noStop,
                noStop + ": record 'archive/data.pkl': the pickle ends at byte 3 without its STOP"
                        + " opcode: the record is truncated or damaged");

        Path list = dir.resolve("list.bin");
        TorchZipWriter.writeZip(list, "archive", Map.of("data.pkl", new byte[] {(byte) 0x80, 2, ']', '.'}));
        assertMessage(
                list,
                list + ": record 'archive/data.pkl': the pickle holds a list of 0, not a state dict (a"
                        + " dict of tensor names to tensors)");
    }

    /** The CPython-exact pickle of a state dict of 1,200 tensors (two SETITEMS batches, LONG_BINPUT/GET) reads back. */
    @Test
    void readsLargeStateDictsWithLongMemoIndices() throws IOException {
        List<TorchZipWriter.Tensor> tensors = new ArrayList<>();
        Map<String, Float> expected = new LinkedHashMap<>();
        for (int i = 0; i < 1200; i++) {
            float v = i * 0.5f - 7;
            tensors.add(TorchZipWriter.Tensor.contiguous(
                    "layers." + i + ".w",
                    TorchZipWriter.Storage.of(
                            String.valueOf(i), TorchZipWriter.Dtype.F32, f32(ByteOrder.LITTLE_ENDIAN, v, -v)),
                    2));
            expected.put("layers." + i + ".w", v);
        }
        byte[] pickle = TorchZipWriter.pickle(tensors, true);
        assertTrue(indexOf(pickle, new byte[] {'r', 0, 1, 0, 0}) > 0, "uses LONG_BINPUT 256");
        Path file = dir.resolve("large.bin");
        TorchZipWriter.write(file, tensors, TorchZipWriter.Options.DEFAULT);
        try (TorchCheckpointReader r = TorchCheckpointReader.open(file)) {
            assertEquals(
                    new ArrayList<>(expected.keySet()),
                    r.tensors().stream().map(StoredTensor::name).toList());
            for (Map.Entry<String, Float> e : expected.entrySet()) {
                assertArrayEquals(
                        new float[] {e.getValue(), -e.getValue()},
                        r.read(e.getKey(), DataType.FLOAT).toFloatVector(),
                        0f);
            }
        }
    }

    private static void assertMessage(Path file, String expected) {
        TorchFormatException e = assertThrows(TorchFormatException.class, () -> {
            try (TorchCheckpointReader r = TorchCheckpointReader.open(file)) {
                r.tensors();
            }
        });
        assertEquals(expected, e.getMessage());
    }
}
