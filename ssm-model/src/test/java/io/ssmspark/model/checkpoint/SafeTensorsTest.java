package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void writerProducesExactlyTheSafetensorsBytes() throws IOException {
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        tensors.put("b", Nd4j.create(new float[] {0.5f, 3.0f}, new long[] {1, 2}, DataType.FLOAT));
        tensors.put("a", Nd4j.create(new float[] {-2.0f}, new long[] {1}, DataType.FLOAT));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensorsWriter.write(out, tensors, Map.of("format", "pt"), SafeTensorsDType.F32);

        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[4,12]}}"
                + "   "; // 141 bytes of JSON padded to 144, so the data starts at byte 152 = 19 * 8
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.write(new byte[] {(byte) 144, 0, 0, 0, 0, 0, 0, 0});
        expected.write(json.getBytes(StandardCharsets.US_ASCII));
        expected.write(new byte[] {0, 0, 0, (byte) 0xC0}); // a[0] = -2.0f = 0xC0000000
        expected.write(new byte[] {0, 0, 0, 0x3F}); // b[0][0] = 0.5f = 0x3F000000
        expected.write(new byte[] {0, 0, 0x40, 0x40}); // b[0][1] = 3.0f = 0x40400000
        assertArrayEquals(expected.toByteArray(), out.toByteArray());
    }

    @Test
    void roundTripsF32IncludingViewsScalarsAndMultiChunkTensors() throws IOException {
        Nd4j.getRandom().setSeed(7);
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        tensors.put("conv", Nd4j.rand(DataType.FLOAT, 6, 1, 4));
        tensors.put("transposed", Nd4j.rand(DataType.FLOAT, 3, 5).transpose());
        tensors.put("scalar", Nd4j.scalar(1.25f));
        tensors.put("big", Nd4j.rand(DataType.FLOAT, 1_200_000)); // 4.8 MB: more than one 4 MiB read chunk
        tensors.put("from_double", Nd4j.create(new double[] {0.1, -1e-3}, new long[] {2}, DataType.DOUBLE));
        Path file = dir.resolve("m.safetensors");
        SafeTensors.write(file, tensors, Map.of());

        Map<String, INDArray> back = SafeTensors.read(file, DataType.FLOAT);
        assertEquals(List.of("big", "conv", "from_double", "scalar", "transposed"), List.copyOf(back.keySet()));
        for (String name : tensors.keySet()) {
            INDArray expected = tensors.get(name).castTo(DataType.FLOAT);
            INDArray actual = back.get(name);
            assertArrayEquals(expected.shape(), actual.shape(), name);
            assertEquals(DataType.FLOAT, actual.dataType());
            assertArrayEquals(expected.dup('c').data().asFloat(), actual.data().asFloat(), 0f, name);
        }
        // F32 read as DOUBLE widens exactly.
        INDArray wide = SafeTensors.read(file, DataType.DOUBLE).get("from_double");
        assertEquals(DataType.DOUBLE, wide.dataType());
        assertEquals((double) 0.1f, wide.getDouble(0), 0.0);
        assertEquals((double) -1e-3f, wide.getDouble(1), 0.0);
    }

    @Test
    void roundTripsF64Exactly() throws IOException {
        INDArray x = Nd4j.create(new double[] {Math.PI, -Math.E, 1e-300, 7}, new long[] {2, 2}, DataType.DOUBLE);
        Path file = dir.resolve("d.safetensors");
        SafeTensors.write(file, Map.of("x", x), Map.of(), SafeTensorsDType.F64);
        try (SafeTensorsReader r = SafeTensors.open(file)) {
            assertEquals(SafeTensorsDType.F64, r.entry("x").dtype());
            assertEquals(32, r.entry("x").end());
            INDArray back = r.read("x", DataType.DOUBLE);
            assertArrayEquals(
                    new double[] {Math.PI, -Math.E, 1e-300, 7}, back.data().asDouble(), 0.0);
            assertEquals((float) Math.PI, r.read("x", DataType.FLOAT).getFloat(0), 0f);
        }
    }

    @Test
    void readsF16AgainstHandComputedValues() throws IOException {
        short[] bits = {0x3C00, (short) 0xC000, 0x0001, 0x7C00, 0x3555, 0x7BFF, (short) 0x8000, 0x0400};
        Path file = writeRaw("h.safetensors", "F16", bits);
        float[] expected = {
            1.0f, // 0x3C00: exponent 15 - 15 = 0, mantissa 0
            -2.0f, // 0xC000: sign, exponent 16 - 15 = 1
            5.9604645e-8f, // 0x0001: smallest subnormal, 2^-24
            Float.POSITIVE_INFINITY,
            0.333251953125f, // 0x3555: 2^-2 * (1 + 341/1024)
            65504f, // 0x7BFF: largest finite half
            -0.0f,
            6.1035156e-5f
        }; // 0x0400: smallest normal, 2^-14
        INDArray f = SafeTensors.read(file, DataType.FLOAT).get("t");
        float[] actual = f.data().asFloat();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), "element " + i);
        }
        INDArray d = SafeTensors.read(file, DataType.DOUBLE).get("t");
        assertEquals(Math.scalb(1.0, -24), d.getDouble(2), 0.0);
        assertEquals(65504.0, d.getDouble(5), 0.0);
    }

    @Test
    void readsBF16AgainstHandComputedValues() throws IOException {
        short[] bits = {0x3F80, (short) 0xC040, 0x0001, (short) 0xFF80, 0x3EAB};
        Path file = writeRaw("b.safetensors", "BF16", bits);
        float[] expected = {
            1.0f, // 0x3F80 -> 0x3F800000
            -3.0f, // 0xC040 -> 0xC0400000
            Math.scalb(1f, -133), // 0x0001 -> float subnormal 2^-149 * 2^16
            Float.NEGATIVE_INFINITY, // 0xFF80
            0.333984375f
        }; // 0x3EAB: 2^-2 * (1 + 43/128)
        float[] actual = SafeTensors.read(file, DataType.FLOAT).get("t").data().asFloat();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), "element " + i);
        }
    }

    // ---- corrupt files: each gets one clear error naming the file and what is wrong ----

    @Test
    void refusesAFileTooShortForTheHeaderLength() throws IOException {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 0, 0, 0, 0});
        assertError(file, "file is 5 bytes, too short for the 8-byte header length");
    }

    @Test
    void refusesAHeaderLengthPastTheEndOfTheFile() throws IOException {
        Path file = dir.resolve("len.safetensors");
        Files.write(file, concat(le64(1000), "{}      ".getBytes(StandardCharsets.US_ASCII)));
        assertError(file, "byte offset 0: header length 1000 is invalid (must be >= 2, <= 8 for this 16-byte file)");
    }

    @Test
    void refusesAHeaderLengthBelowTwo() throws IOException {
        Path file = dir.resolve("len1.safetensors");
        Files.write(file, concat(le64(1), "{}      ".getBytes(StandardCharsets.US_ASCII)));
        assertError(file, "header length 1 is invalid");
    }

    @Test
    void refusesAHugeHeaderLength() throws IOException {
        Path file = dir.resolve("huge.safetensors");
        Files.write(file, concat(le64(-1L), "{}".getBytes(StandardCharsets.US_ASCII)));
        assertError(file, "header length 18446744073709551615 is invalid");
    }

    @Test
    void refusesBadJson() throws IOException {
        assertError(withHeader("{\"a\": {\"dtype\": \"F32\",", new byte[0]), "the header is not valid JSON");
    }

    @Test
    void refusesAHeaderThatIsNotAnObject() throws IOException {
        assertError(withHeader("[1, 2]", new byte[0]), "the header must be a JSON object, found array");
    }

    @Test
    void refusesInvalidUtf8() throws IOException {
        Path file = dir.resolve("utf.safetensors");
        byte[] header = {'{', '"', (byte) 0xC3, '"', ':', '1', '}', ' '};
        Files.write(file, concat(le64(8), header));
        assertError(file, "the header (bytes 8 to 16) is not valid UTF-8");
    }

    @Test
    void refusesDuplicateTensorNames() throws IOException {
        String e = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        assertError(withHeader("{\"a\":" + e + ",\"a\":" + e + "}", new byte[4]), "Duplicate field 'a'");
    }

    @Test
    void refusesOverlappingOffsets() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertError(withHeader(h, new byte[12]), "tensor 'b' bytes [4, 12) overlap tensor 'a' bytes [0, 8)");
    }

    @Test
    void refusesAHoleBetweenTensors() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        assertError(
                withHeader(h, new byte[12]), "data buffer bytes [4, 8) belong to no tensor (hole before tensor 'b')");
    }

    @Test
    void refusesTrailingBytesAfterTheLastTensor() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertError(withHeader(h, new byte[8]), "data buffer bytes [4, 8) belong to no tensor (trailing bytes");
    }

    @Test
    void refusesAByteCountThatDoesNotMatchTheShape() throws IOException {
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
        assertError(
                withHeader(h, new byte[8]),
                "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12");
    }

    @Test
    void refusesATruncatedDataBuffer() throws IOException {
        String h = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
        assertError(
                withHeader(h, new byte[5]),
                "tensor 'w': data_offsets end 8 is past the end of the data buffer (5 bytes)");
    }

    @Test
    void refusesAnUnknownDtype() throws IOException {
        String h = "{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,1]}}";
        assertError(withHeader(h, new byte[1]), "tensor 'w': unsupported dtype 'Q4' (readable: F64, F32, F16, BF16)");
    }

    @Test
    void refusesUnknownAndMissingEntryKeys() throws IOException {
        String extra = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}";
        assertError(withHeader(extra, new byte[4]), "tensor 'w': unknown key 'x'");
        String missing = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}";
        assertError(withHeader(missing, new byte[4]), "tensor 'w': missing key 'data_offsets'");
    }

    @Test
    void refusesNegativeOrNonIntegerShapesAndReversedOffsets() throws IOException {
        String negative = "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}";
        assertError(
                withHeader(negative, new byte[4]),
                "tensor 'w': shape must be an array of non-negative integers, found [-1]");
        String fractional = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}";
        assertError(withHeader(fractional, new byte[4]), "tensor 'w': shape must be an array of non-negative integers");
        String reversed = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}";
        assertError(withHeader(reversed, new byte[4]), "tensor 'w': data_offsets [4, 0] begin after end");
        String oneOffset = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}";
        assertError(
                withHeader(oneOffset, new byte[4]),
                "tensor 'w': data_offsets must be an array of 2 non-negative integers");
    }

    @Test
    void refusesNonStringMetadata() throws IOException {
        assertError(
                withHeader("{\"__metadata__\":{\"step\":3}}", new byte[0]),
                "\"__metadata__\" value 'step' must be a string");
    }

    @Test
    void refusesAMissingFile() {
        Path file = dir.resolve("absent.safetensors");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> SafeTensors.read(file, DataType.FLOAT));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    // ---- helpers ----

    private Path writeRaw(String name, String dtype, short[] bits) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(bits.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short b : bits) {
            data.putShort(b);
        }
        String h = "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + bits.length + "],\"data_offsets\":[0,"
                + bits.length * 2 + "]}}";
        Path file = withHeader(h, data.array());
        Path named = dir.resolve(name);
        Files.move(file, named);
        return named;
    }

    private int counter;

    private Path withHeader(String json, byte[] data) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("f" + (counter++) + ".safetensors");
        Files.write(file, concat(concat(le64(header.length), header), data));
        return file;
    }

    private static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void assertError(Path file, String expectedPart) {
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.read(file, DataType.FLOAT));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expectedPart), "expected '" + expectedPart + "' in: " + e.getMessage());
    }
}
