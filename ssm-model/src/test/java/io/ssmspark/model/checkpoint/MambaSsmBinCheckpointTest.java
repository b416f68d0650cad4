package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * mamba_ssm's save_pretrained layout (config.json + pytorch_model.bin) loads exactly as the same weights from
 * model.safetensors: the same flat parameters and the same logits and NLL, bit for bit, for the same values.
 */
class MambaSsmBinCheckpointTest {
    @TempDir
    Path dir;

    /** Pure Mamba-2: 2 layers, D per channel, tied head, vocab 13 padded to 16, chunk 4. */
    static MambaConfig pureMamba2() {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(3)
                        .expand(2)
                        .headdim(4)
                        .ngroups(1)
                        .chunkSize(4)
                        .dHasHdim(true)
                        .build())
                .tieEmbeddings(true)
                .build();
    }

    /** Hybrid: 3 layers, layer 1 attention (GQA 4 on 2, rotary), GatedMLP, ngroups 2, LayerNorm, untied head. */
    static MambaConfig hybrid() {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .rmsNorm(false)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(2)
                        .chunkSize(4)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(4)
                        .numHeadsKv(2)
                        .headDim(4)
                        .rotaryEmbDim(4)
                        .build())
                .tieEmbeddings(false)
                .build();
    }

    static int[][] tokens(long seed, int vocab) {
        Random rnd = new Random(seed);
        int[][] t = new int[2][11];
        for (int[] row : t) {
            for (int i = 0; i < row.length; i++) {
                row[i] = rnd.nextInt(vocab);
            }
        }
        return t;
    }

    /** Logits and NLL of two token windows under a loaded checkpoint, as FLOAT. */
    static float[] logits(LoadedCheckpoint c, DataType type) {
        return logits(c, type, c.config().vocabSize());
    }

    /** Logits of two token windows of ids below {@code vocab}. */
    static float[] logits(LoadedCheckpoint c, DataType type, int vocab) {
        HybridLm lm = new HybridLm(c.config(), c.flatParameters(type));
        return lm.forward(tokens(5, vocab))
                .logits()
                .castTo(DataType.FLOAT)
                .dup('c')
                .data()
                .asFloat();
    }

    static double nll(LoadedCheckpoint c, DataType type) {
        HybridLm lm = new HybridLm(c.config(), c.flatParameters(type));
        int[][] x = tokens(5, c.config().vocabSize());
        int[][] y = tokens(6, c.config().vocabSize());
        return lm.nll(lm.forward(x), y, null).sum();
    }

    private static void assertSameModel(LoadedCheckpoint expected, LoadedCheckpoint actual) {
        assertEquals(expected.config(), actual.config());
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            assertArrayEquals(
                    expected.flatParameters(type).toDoubleVector(),
                    actual.flatParameters(type).toDoubleVector(),
                    0.0,
                    type + " parameters");
            assertArrayEquals(logits(expected, type), logits(actual, type), 0f, type + " logits");
            assertEquals(nll(expected, type), nll(actual, type), 0.0, type + " nll");
        }
    }

    @Test
    void pureMamba2BinLoadsExactlyAsModelSafetensors() throws IOException {
        MambaConfig c = pureMamba2();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 11);
        Path safetensors = dir.resolve("safetensors");
        Checkpoint.save(safetensors, c, w);
        LoadedCheckpoint expected = Checkpoint.load(safetensors, DataType.FLOAT);
        for (String dtype : List.of("F32", "BF16")) {
            Path bin = dir.resolve("bin-" + dtype);
            CheckpointFixtures.writeMambaSsmBin(bin, c, w, dtype); // holds the tied lm_head.weight, as mamba_ssm's does
            assertEquals(
                    CheckpointLayout.Kind.MAMBA_SSM_BIN,
                    CheckpointLayout.detect(bin).kind());
            LoadedCheckpoint loaded = Checkpoint.load(bin, DataType.FLOAT);
            assertFalse(loaded.tensors().containsKey(CheckpointSchema.LM_HEAD));
            assertSameModel(expected, loaded);
        }
        // a non-trivial check: the logits depend on the weights
        Map<String, INDArray> other = new LinkedHashMap<>(w);
        other.put(
                "backbone.layers.1.mixer.out_proj.weight",
                w.get("backbone.layers.1.mixer.out_proj.weight").mul(2));
        Path changed = dir.resolve("changed");
        CheckpointFixtures.writeMambaSsmBin(changed, c, other, "F32");
        assertFalse(java.util.Arrays.equals(
                logits(expected, DataType.FLOAT), logits(Checkpoint.load(changed, DataType.FLOAT), DataType.FLOAT)));
    }

    @Test
    void hybridBf16BinLoadsExactlyAsBf16AndF32Safetensors() throws IOException {
        MambaConfig c = hybrid();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 12);
        Path bf16Safetensors = dir.resolve("bf16-safetensors");
        Files.createDirectories(bf16Safetensors);
        Files.writeString(bf16Safetensors.resolve(Checkpoint.CONFIG_FILE), c.toJson());
        CheckpointFixtures.writeSafetensors(bf16Safetensors.resolve(Checkpoint.MODEL_FILE), w, "BF16");
        Path f32Safetensors = dir.resolve("f32-safetensors");
        Checkpoint.save(f32Safetensors, c, w);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, w, "BF16");

        LoadedCheckpoint fromBin = Checkpoint.load(bin, DataType.FLOAT);
        assertSameModel(Checkpoint.load(bf16Safetensors, DataType.FLOAT), fromBin);
        assertSameModel(Checkpoint.load(f32Safetensors, DataType.FLOAT), fromBin);
        assertTrue(c.isAttentionLayer(1) && c.hasMlp());
    }

    @Test
    void f16BinLoadsExactlyAsF32Safetensors() throws IOException {
        MambaConfig c = hybrid();
        Map<String, INDArray> w = CheckpointFixtures.f16ExactWeights(c, 13);
        Path safetensors = dir.resolve("safetensors");
        Checkpoint.save(safetensors, c, w);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, w, "F16");
        assertSameModel(Checkpoint.load(safetensors, DataType.FLOAT), Checkpoint.load(bin, DataType.FLOAT));
    }

    /** A tensor stored as a strided view (a transposed weight) is copied into c order: the same model. */
    @Test
    void aStridedTensorLoadsAsItsContiguousCopy() throws IOException {
        MambaConfig c = pureMamba2();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 14);
        String name = "backbone.layers.0.mixer.out_proj.weight";
        List<TorchZipWriter.Tensor> sd = new ArrayList<>();
        for (TorchZipWriter.Tensor t : CheckpointFixtures.stateDict(c, w, "F32")) {
            if (!t.name().equals(name)) {
                sd.add(t);
                continue;
            }
            INDArray weight = w.get(name); // [8, 16]: store W^T contiguous and view it back with stride (1, 8)
            TorchZipWriter.Storage s = TorchZipWriter.Storage.of(
                    "t",
                    TorchZipWriter.Dtype.F32,
                    TestEncodings.encode(weight.transpose().dup('c'), "F32", ByteOrder.LITTLE_ENDIAN));
            sd.add(new TorchZipWriter.Tensor(name, s, 0, weight.shape(), new long[] {1, weight.size(0)}));
        }
        Path bin = dir.resolve("strided");
        Files.createDirectories(bin);
        Files.writeString(bin.resolve(Checkpoint.CONFIG_FILE), c.toJson());
        TorchZipWriter.write(bin.resolve(CheckpointLayout.BIN_FILE), sd, TorchZipWriter.Options.DEFAULT);
        Path safetensors = dir.resolve("safetensors");
        Checkpoint.save(safetensors, c, w);
        assertSameModel(Checkpoint.load(safetensors, DataType.FLOAT), Checkpoint.load(bin, DataType.FLOAT));
    }

    /** mamba_ssm's tied lm_head.weight is accepted when it equals the embedding and refused by name when not. */
    @Test
    void aTiedHeadThatDiffersIsRefusedByName() throws IOException {
        MambaConfig c = pureMamba2();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 15);
        List<TorchZipWriter.Tensor> sd = new ArrayList<>(CheckpointFixtures.stateDict(c, w, "F32"));
        TorchZipWriter.Tensor head = sd.remove(sd.size() - 1);
        assertEquals(CheckpointSchema.LM_HEAD, head.name());
        INDArray differs = w.get(CheckpointSchema.EMBEDDING).dup();
        differs.putScalar(3, 7, differs.getDouble(3, 7) + 0.5);
        sd.add(TorchZipWriter.Tensor.contiguous(
                CheckpointSchema.LM_HEAD,
                TorchZipWriter.Storage.of(
                        "head",
                        TorchZipWriter.Dtype.F32,
                        TestEncodings.encode(differs, "F32", ByteOrder.LITTLE_ENDIAN)),
                16,
                8));
        Path bin = writeBin("differs", c, sd);
        assertLoadError(
                bin,
                bin.resolve(CheckpointLayout.BIN_FILE) + ": config.json says tie_embeddings = true but"
                        + " tensor 'lm_head.weight' differs from 'backbone.embedding.weight' (max |difference| = 0.5)");

        sd.set(
                sd.size() - 1,
                TorchZipWriter.Tensor.contiguous(
                        CheckpointSchema.LM_HEAD,
                        TorchZipWriter.Storage.of(
                                "head",
                                TorchZipWriter.Dtype.F32,
                                TestEncodings.encode(
                                        w.get(CheckpointSchema.EMBEDDING), "F32", ByteOrder.LITTLE_ENDIAN)),
                        16,
                        8));
        Path equal = writeBin("equal", c, sd); // a copy in its own storage, equal values: accepted
        assertFalse(Checkpoint.load(equal, DataType.FLOAT).tensors().containsKey(CheckpointSchema.LM_HEAD));
    }

    /** A tensor the model does not know, a missing one and a non-float one are each refused by name. */
    @Test
    void unknownMissingAndNonFloatTensorsAreRefusedByName() throws IOException {
        MambaConfig c = pureMamba2();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 16);
        List<TorchZipWriter.Tensor> sd = new ArrayList<>(CheckpointFixtures.stateDict(c, w, "F32"));
        List<TorchZipWriter.Tensor> extra = new ArrayList<>(sd);
        extra.add(TorchZipWriter.Tensor.contiguous(
                "backbone.layers.0.mixer.in_proj.bias",
                TorchZipWriter.Storage.of("bias", TorchZipWriter.Dtype.F32, new byte[4 * 44]),
                44));
        Path unknown = writeBin("unknown", c, extra);
        assertLoadError(
                unknown,
                unknown.resolve(CheckpointLayout.BIN_FILE) + ": unexpected tensor"
                        + " 'backbone.layers.0.mixer.in_proj.bias' with shape [44]: the config has no such parameter");

        List<TorchZipWriter.Tensor> missing = new ArrayList<>(sd);
        missing.removeIf(t -> t.name().equals("backbone.layers.1.mixer.dt_bias"));
        Path gone = writeBin("missing", c, missing);
        assertLoadError(
                gone,
                gone.resolve(CheckpointLayout.BIN_FILE) + ": tensor 'backbone.layers.1.mixer.dt_bias'"
                        + " (expected shape [4]) is missing");

        List<TorchZipWriter.Tensor> ints = new ArrayList<>(sd);
        for (int i = 0; i < ints.size(); i++) {
            if (ints.get(i).name().equals("backbone.layers.0.mixer.A_log")) {
                ints.set(
                        i,
                        TorchZipWriter.Tensor.contiguous(
                                "backbone.layers.0.mixer.A_log",
                                TorchZipWriter.Storage.of("ints", TorchZipWriter.Dtype.I64, new byte[8 * 4]),
                                4));
            }
        }
        Path int64 = writeBin("int64", c, ints);
        assertLoadError(
                int64,
                int64.resolve(CheckpointLayout.BIN_FILE) + ": tensor 'backbone.layers.0.mixer.A_log' has"
                        + " dtype int64; ssm-spark reads float32, float16, bfloat16 and float64 weights");
    }

    /**
     * A checkpoint directory whose pytorch_model.bin would run a command if torch.load read it without
     * weights_only: refused by Checkpoint.load with one message naming the file and the global; nothing runs.
     */
    @Test
    void aHostileBinInACheckpointDirectoryIsRefusedAndRunsNothing() throws IOException {
        Path target = dir.resolve("side-effect");
        int i = 0;
        for (HostilePickles.Attack a : HostilePickles.all(target.toString())) {
            Path ckpt = Files.createDirectories(dir.resolve("hostile" + i++));
            Files.writeString(ckpt.resolve(Checkpoint.CONFIG_FILE), pureMamba2().toJson());
            Path bin = ckpt.resolve(CheckpointLayout.BIN_FILE);
            TorchZipWriter.writeZip(bin, "pytorch_model", Map.of("data.pkl", a.pickle(), "data/0", new byte[8]));
            RefusedPickleException e =
                    assertThrows(RefusedPickleException.class, () -> Checkpoint.load(ckpt, DataType.FLOAT));
            assertTrue(
                    e.getMessage().startsWith(bin + ": record 'pytorch_model/data.pkl': byte offset "), e.getMessage());
            assertTrue(e.getMessage().contains(": refused global '" + a.global() + "': "), e.getMessage());
            assertFalse(Files.exists(target), a.global() + " ran");
        }
    }

    @Test
    void aLegacyBinIsRefusedSayingHowToConvert() throws IOException {
        Path ckpt = Files.createDirectories(dir.resolve("legacy"));
        Files.writeString(ckpt.resolve(Checkpoint.CONFIG_FILE), pureMamba2().toJson());
        Path bin = ckpt.resolve(CheckpointLayout.BIN_FILE);
        Files.write(bin, new byte[] {
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
            '.'
        });
        TorchFormatException e = assertThrows(TorchFormatException.class, () -> Checkpoint.load(ckpt, DataType.FLOAT));
        assertTrue(
                e.getMessage().startsWith(bin + ": written by torch.save in the legacy non-zip format"),
                e.getMessage());
    }

    /** As transformers, model.safetensors is read when pytorch_model.bin is also there (the .bin is not opened). */
    @Test
    void modelSafetensorsIsPreferredToPytorchModelBin() throws IOException {
        MambaConfig c = pureMamba2();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 17);
        Path ckpt = dir.resolve("both");
        Checkpoint.save(ckpt, c, w);
        Files.writeString(ckpt.resolve(CheckpointLayout.BIN_FILE), "not a zip");
        CheckpointLayout layout = CheckpointLayout.detect(ckpt);
        assertEquals(CheckpointLayout.Kind.SSM_SPARK, layout.kind());
        assertEquals(List.of("pytorch_model.bin (model.safetensors is read instead)"), layout.unreadFiles());
        assertArrayEquals(
                CheckpointFixtures.flat(c, w, DataType.FLOAT).toFloatVector(),
                Checkpoint.load(ckpt, DataType.FLOAT)
                        .flatParameters(DataType.FLOAT)
                        .toFloatVector(),
                0f);
    }

    private Path writeBin(String name, MambaConfig c, List<TorchZipWriter.Tensor> sd) throws IOException {
        Path ckpt = Files.createDirectories(dir.resolve(name));
        Files.writeString(ckpt.resolve(Checkpoint.CONFIG_FILE), c.toJson());
        TorchZipWriter.write(ckpt.resolve(CheckpointLayout.BIN_FILE), sd, TorchZipWriter.Options.DEFAULT);
        return ckpt;
    }

    private static void assertLoadError(Path ckpt, String expected) {
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(ckpt, DataType.FLOAT));
        assertEquals(expected, e.getMessage());
    }
}
