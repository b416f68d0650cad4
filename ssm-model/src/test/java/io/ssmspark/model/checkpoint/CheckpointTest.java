package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
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
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CheckpointTest {
    @TempDir
    Path dir;

    /** 4 Mamba2 layers with 16 heads each (d_inner 128, headdim 8), tied head, vocab 20 -> 24. */
    private static MambaConfig tied() {
        return MambaConfig.builder()
                .dModel(64)
                .nLayer(4)
                .vocabSize(20)
                .ssm(SsmConfig.builder().dState(4).headdim(8).chunkSize(16).build())
                .build();
    }

    /** Every parameter filled with values exact in F16 and BF16: (k mod 17 - 8) / 4. */
    private static Map<String, INDArray> exactTensors(CheckpointSchema schema) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        int k = 0;
        for (TensorSpec t : schema.tensors()) {
            float[] v = new float[(int) t.size()];
            for (int i = 0; i < v.length; i++, k++) {
                v[i] = (k % 17 - 8) / 4f;
            }
            out.put(t.name(), Nd4j.create(v, t.shape(), DataType.FLOAT));
        }
        return out;
    }

    private List<String> filesIn(Path d) throws IOException {
        try (var s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void savesAFlatVectorAndLoadsItBackExactly() throws IOException {
        MambaConfig config = CheckpointSchemaTest.hybrid();
        CheckpointSchema schema = CheckpointSchema.of(config);
        Nd4j.getRandom().setSeed(3);
        INDArray flat = Nd4j.rand(DataType.FLOAT, schema.totalParameters());
        Path ckpt = dir.resolve("ckpt");
        Checkpoint.save(ckpt, config, flat);
        assertEquals(List.of("config.json", "model.safetensors"), filesIn(ckpt));
        if (Files.getFileStore(ckpt).supportsFileAttributeView(java.nio.file.attribute.PosixFileAttributeView.class)) {
            assertEquals(
                    "rw-r--r--",
                    java.nio.file.attribute.PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(ckpt.resolve("model.safetensors"))));
        }

        LoadedCheckpoint loaded = Checkpoint.load(ckpt, DataType.FLOAT);
        assertEquals(config, loaded.config());
        assertEquals(schema.names(), List.copyOf(loaded.tensors().keySet()));
        assertArrayEquals(
                flat.data().asFloat(),
                loaded.flatParameters(DataType.FLOAT).data().asFloat(),
                0f);
        assertArrayEquals(
                new long[] {80, 1, 4},
                loaded.tensor("backbone.layers.2.mixer.conv1d.weight").shape());

        INDArray wide = Checkpoint.load(ckpt, DataType.DOUBLE).flatParameters(DataType.DOUBLE);
        assertEquals(DataType.DOUBLE, wide.dataType());
        assertEquals((double) flat.getFloat(12345), wide.getDouble(12345), 0.0);

        try (SafeTensorsReader r = SafeTensors.open(ckpt.resolve("model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertEquals(schema.tensors().size(), r.entries().size());
            assertTrue(r.entries().stream().allMatch(e -> e.dtype() == SafeTensorsDType.F32));
        }
    }

    @Test
    void tiedCheckpointHasNoHeadAndAcceptsAnEqualHeadInTheFile() throws IOException {
        MambaConfig config = tied();
        CheckpointSchema schema = CheckpointSchema.of(config);
        Map<String, INDArray> tensors = exactTensors(schema);
        Path ckpt = dir.resolve("tied");
        Checkpoint.save(ckpt, config, tensors);
        try (SafeTensorsReader r = SafeTensors.open(ckpt.resolve("model.safetensors"))) {
            assertEquals(null, r.entry("lm_head.weight"));
            assertEquals(4 * 9 + 2, r.entries().size()); // embedding, 4 x (norm + 8 mixer tensors), norm_f
        }
        // A torch state_dict of a tied model also holds lm_head.weight: accepted when it equals the embedding.
        Map<String, INDArray> withHead = new LinkedHashMap<>(tensors);
        withHead.put("lm_head.weight", tensors.get("backbone.embedding.weight").dup());
        SafeTensors.write(ckpt.resolve("model.safetensors"), withHead, Map.of());
        LoadedCheckpoint loaded = Checkpoint.load(ckpt, DataType.FLOAT);
        assertFalse(loaded.tensors().containsKey("lm_head.weight"));
        assertEquals(tensors.get("backbone.embedding.weight"), loaded.tensor("backbone.embedding.weight"));

        withHead.put("lm_head.weight", tensors.get("backbone.embedding.weight").add(0.5));
        SafeTensors.write(ckpt.resolve("model.safetensors"), withHead, Map.of());
        assertLoadError(
                ckpt,
                "model.safetensors: config.json says tie_embeddings = true but tensor 'lm_head.weight'"
                        + " differs from 'backbone.embedding.weight' (max |difference| = 0.5)");

        withHead.put("lm_head.weight", Nd4j.zeros(DataType.FLOAT, 20, 64));
        SafeTensors.write(ckpt.resolve("model.safetensors"), withHead, Map.of());
        assertLoadError(
                ckpt,
                "model.safetensors: tensor 'lm_head.weight' has shape [20, 64] but the config expects [24, 64]"
                        + " (tied to the embedding)");

        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Checkpoint.save(dir.resolve("x"), config, Map.of("lm_head.weight", Nd4j.zeros(1))));
        assertTrue(
                e.getMessage().startsWith("tensor 'backbone.embedding.weight' (expected shape [24, 64]) is missing"),
                e.getMessage());
    }

    @Test
    void refusesAWrongShapeNamingTensorAndBothShapes() throws IOException {
        MambaConfig config = tied();
        Map<String, INDArray> tensors = exactTensors(CheckpointSchema.of(config));
        Path ckpt = dir.resolve("shape");
        Checkpoint.save(ckpt, config, tensors);
        tensors.put("backbone.layers.3.mixer.A_log", Nd4j.zeros(DataType.FLOAT, 8));
        SafeTensors.write(ckpt.resolve("model.safetensors"), tensors, Map.of());
        assertLoadError(
                ckpt,
                "model.safetensors: tensor 'backbone.layers.3.mixer.A_log' has shape [8] but the config expects [16]");
    }

    @Test
    void refusesMissingAndUnexpectedTensorsByName() throws IOException {
        MambaConfig config = tied();
        Map<String, INDArray> tensors = exactTensors(CheckpointSchema.of(config));
        Path ckpt = dir.resolve("names");
        Checkpoint.save(ckpt, config, tensors);

        Map<String, INDArray> missing = new LinkedHashMap<>(tensors);
        missing.remove("backbone.layers.2.mixer.D");
        SafeTensors.write(ckpt.resolve("model.safetensors"), missing, Map.of());
        assertLoadError(ckpt, "model.safetensors: tensor 'backbone.layers.2.mixer.D' (expected shape [16]) is missing");

        Map<String, INDArray> extra = new LinkedHashMap<>(tensors);
        extra.put("backbone.layers.2.mixer.init_states", Nd4j.zeros(DataType.FLOAT, 16, 8, 4));
        SafeTensors.write(ckpt.resolve("model.safetensors"), extra, Map.of());
        assertLoadError(
                ckpt,
                "model.safetensors: unexpected tensor 'backbone.layers.2.mixer.init_states' with shape"
                        + " [16, 8, 4]: the config has no such parameter");
    }

    @Test
    void readsBf16AndF16Checkpoints() throws IOException {
        MambaConfig config = tied();
        CheckpointSchema schema = CheckpointSchema.of(config);
        Map<String, INDArray> tensors = exactTensors(schema);
        for (String dtype : List.of("BF16", "F16")) {
            Path ckpt = dir.resolve(dtype);
            Checkpoint.save(ckpt, config, tensors);
            writeHalfPrecision(ckpt.resolve("model.safetensors"), tensors, dtype);
            try (SafeTensorsReader r = SafeTensors.open(ckpt.resolve("model.safetensors"))) {
                assertEquals(dtype, r.entry("backbone.embedding.weight").dtype().name());
            }
            LoadedCheckpoint loaded = Checkpoint.load(ckpt, DataType.FLOAT);
            for (TensorSpec t : schema.tensors()) {
                assertEquals(tensors.get(t.name()), loaded.tensor(t.name()), dtype + " " + t.name());
            }
            assertEquals(-2.0, loaded.tensor("backbone.embedding.weight").getDouble(0, 0), 0.0); // (0 - 8) / 4
            assertEquals(0.25, loaded.tensor("backbone.embedding.weight").getDouble(0, 9), 0.0); // (9 - 8) / 4
        }
    }

    @Test
    void extraFilesAreWrittenBesideAndAFailedSaveLeavesTheOldCheckpoint() throws IOException {
        MambaConfig config = tied();
        Map<String, INDArray> tensors = exactTensors(CheckpointSchema.of(config));
        Path ckpt = dir.resolve("extra");
        Checkpoint.save(
                ckpt,
                config,
                tensors,
                Map.of("training_state.json", out -> out.write("{\"step\": 7}".getBytes(StandardCharsets.UTF_8))));
        assertEquals(List.of("config.json", "model.safetensors", "training_state.json"), filesIn(ckpt));
        assertEquals("{\"step\": 7}", Files.readString(ckpt.resolve("training_state.json")));
        byte[] before = Files.readAllBytes(ckpt.resolve("model.safetensors"));

        Map<String, INDArray> changed = new LinkedHashMap<>(tensors);
        changed.put("backbone.norm_f.weight", Nd4j.ones(DataType.FLOAT, 64));
        IOException e = assertThrows(
                IOException.class,
                () -> Checkpoint.save(ckpt, config, changed, Map.of("optimizer.safetensors", out -> {
                    throw new IOException("disk full");
                })));
        assertEquals("disk full", e.getMessage());
        assertEquals(List.of("config.json", "model.safetensors", "training_state.json"), filesIn(ckpt));
        assertArrayEquals(before, Files.readAllBytes(ckpt.resolve("model.safetensors")));

        assertThrows(
                IllegalArgumentException.class,
                () -> Checkpoint.save(ckpt, config, tensors, Map.of("config.json", out -> {})));
        assertThrows(
                IllegalArgumentException.class,
                () -> Checkpoint.save(ckpt, config, tensors, Map.of("../escape.bin", out -> {})));
    }

    @Test
    void missingDirectoryOrFilesAreNamed() throws IOException {
        Path absent = dir.resolve("absent");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Checkpoint.load(absent, DataType.FLOAT));
        assertEquals(absent + ": checkpoint directory not found", e.getMessage());

        Path empty = Files.createDirectory(dir.resolve("empty"));
        e = assertThrows(NoSuchFileException.class, () -> Checkpoint.load(empty, DataType.FLOAT));
        assertEquals(empty.resolve("config.json") + ": checkpoint directory has no config.json", e.getMessage());

        Files.writeString(empty.resolve("config.json"), tied().toJson());
        e = assertThrows(NoSuchFileException.class, () -> Checkpoint.load(empty, DataType.FLOAT));
        assertEquals(
                empty.resolve("model.safetensors") + ": checkpoint directory has no model.safetensors"
                        + " (nor pytorch_model.bin)",
                e.getMessage());

        Files.writeString(empty.resolve("config.json"), "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"foo\": 1}}");
        MalformedConfigException bad =
                assertThrows(MalformedConfigException.class, () -> Checkpoint.load(empty, DataType.FLOAT));
        assertEquals(empty.resolve("config.json") + ": unknown field 'ssm_cfg.foo'", bad.getMessage());
    }

    private static void assertLoadError(Path ckpt, String expectedPart) {
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(ckpt, DataType.FLOAT));
        assertTrue(e.getMessage().startsWith(ckpt.resolve("model.safetensors").toString()), e.getMessage());
        assertTrue(
                e.getMessage().endsWith(expectedPart),
                "expected '" + expectedPart + "' at the end of: " + e.getMessage());
    }

    /** Writes a safetensors file by hand in BF16 or F16 (values must be exact in the format). */
    private static void writeHalfPrecision(Path file, Map<String, INDArray> tensors, String dtype) throws IOException {
        Map<String, INDArray> sorted = new TreeMap<>(tensors);
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (Map.Entry<String, INDArray> e : sorted.entrySet()) {
            long bytes = e.getValue().length() * 2;
            header.append(header.length() > 1 ? "," : "")
                    .append('"')
                    .append(e.getKey())
                    .append("\":{\"dtype\":\"")
                    .append(dtype)
                    .append("\",\"shape\":")
                    .append(java.util.Arrays.toString(e.getValue().shape()).replace(" ", ""))
                    .append(",\"data_offsets\":[")
                    .append(offset)
                    .append(',')
                    .append(offset + bytes)
                    .append("]}");
            offset += bytes;
        }
        byte[] json = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate((int) (8 + json.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(json.length).put(json);
        for (INDArray t : sorted.values()) {
            for (float v : t.dup('c').data().asFloat()) {
                buf.putShort(dtype.equals("BF16") ? (short) (Float.floatToIntBits(v) >>> 16) : toF16(v));
            }
        }
        Files.write(file, buf.array());
    }

    /** binary16 bits of a float that is 0 or a normal half with at most 10 mantissa bits. */
    private static short toF16(float v) {
        if (v == 0) {
            return 0;
        }
        int sign = v < 0 ? 1 : 0;
        float a = Math.abs(v);
        int exponent = Math.getExponent(a);
        int mantissa = Math.round((a / Math.scalb(1f, exponent) - 1) * 1024);
        return (short) (sign << 15 | (exponent + 15) << 10 | mantissa);
    }

    /** NaN or ±Inf anywhere in the weights is refused at load, naming the tensor and the first bad flat index. */
    @Test
    void refusesNonFiniteWeightsNamingTheTensorAndIndex() throws IOException {
        MambaConfig config = tied();
        CheckpointSchema schema = CheckpointSchema.of(config);
        String[] names = {"backbone.layers.1.mixer.A_log", "backbone.layers.3.mixer.in_proj.weight"};
        float[] bad = {Float.NaN, Float.NEGATIVE_INFINITY};
        for (int c = 0; c < names.length; c++) {
            Map<String, INDArray> tensors = exactTensors(schema);
            INDArray t = tensors.get(names[c]);
            t.putScalar(t.length() - 3, bad[c]);
            t.putScalar(t.length() - 1, Float.NaN); // only the first bad element is named
            Path ckpt = dir.resolve("bad" + c);
            Checkpoint.save(ckpt, config, tensors);
            long index = t.length() - 3;
            SafeTensorsFormatException e =
                    assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(ckpt, DataType.FLOAT));
            assertTrue(
                    e.getMessage()
                            .contains("tensor '" + names[c] + "' holds " + (double) bad[c] + " at flat index " + index),
                    e.getMessage());
        }
        // huge but finite weights whose sum overflows are accepted
        Map<String, INDArray> tensors = exactTensors(schema);
        tensors.get("backbone.embedding.weight").assign(3e38f);
        Path ckpt = dir.resolve("huge");
        Checkpoint.save(ckpt, config, tensors);
        assertEquals(
                3e38f,
                Checkpoint.load(ckpt, DataType.FLOAT)
                        .tensor("backbone.embedding.weight")
                        .getFloat(7));
    }

    /** d_model 65,536 with 64 layers (3.2e11 parameters) is refused from config.json alone, before any tensor. */
    @Test
    void aConfigTooLargeForThisJvmIsRefusedBeforeReadingTensors() throws IOException {
        Path ckpt = Files.createDirectories(dir.resolve("absurd"));
        MambaConfig absurd = tied().toBuilder().dModel(65_536).nLayer(64).build();
        Files.writeString(ckpt.resolve(Checkpoint.CONFIG_FILE), absurd.toJson());
        Files.write(ckpt.resolve(Checkpoint.MODEL_FILE), new byte[8]); // never read
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(ckpt, DataType.FLOAT));
        assertTrue(
                e.getMessage()
                        .startsWith(String.format(
                                java.util.Locale.ROOT,
                                "%s: the model has %,d parameters"
                                        + " (d_model 65536, n_layer 64, padded vocabulary 24); loading it as float32",
                                ckpt.resolve(Checkpoint.CONFIG_FILE),
                                io.ssmspark.model.checkpoint.ModelSize.parameters(absurd))),
                e.getMessage());
    }
}
