package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@link CheckpointExport}: mamba_ssm .bin → ssm-spark → transformers (or mamba_ssm) safetensors → ssm-spark gives
 * the same parameters and logits, bit for bit; the transformers config.json and tensor names are those of the
 * transformers source; nothing is half written and an existing --out is refused unless empty.
 */
class CheckpointExportTest {
    @TempDir
    Path dir;

    private static void assertSameLogits(LoadedCheckpoint a, LoadedCheckpoint b) {
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            assertArrayEquals(
                    a.flatParameters(type).toDoubleVector(),
                    b.flatParameters(type).toDoubleVector(),
                    0.0,
                    type + " parameters");
            int vocab = a.config().vocabSize();
            float[] expected = MambaSsmBinCheckpointTest.logits(a, type, vocab);
            assertEquals(2 * 11 * a.config().paddedVocabSize(), expected.length);
            assertArrayEquals(expected, MambaSsmBinCheckpointTest.logits(b, type, vocab), 0f, type + " logits");
        }
    }

    private static List<String> names(Path safetensors) throws IOException {
        List<String> out = new ArrayList<>();
        try (TensorFile f = TensorFile.open(safetensors)) {
            f.tensors().forEach(t -> out.add(t.name()));
        }
        return out;
    }

    private static TreeSet<String> fields(Path configJson) throws IOException {
        JsonNode root = new ObjectMapper().readTree(Files.readString(configJson));
        TreeSet<String> out = new TreeSet<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    static MambaConfig mamba1(boolean tied) {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .rmsNorm(true)
                .ssm(SsmConfig.mamba1Builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .dtRank(3)
                        .bias(true)
                        .build())
                .tieEmbeddings(tied)
                .build();
    }

    @Test
    void mamba1BinToTransformersAndBackIsExact() throws IOException {
        MambaConfig c = mamba1(false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 41);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, w, "BF16");
        LoadedCheckpoint original = Checkpoint.load(bin, DataType.FLOAT);

        Path hf = dir.resolve("hf");
        String said = CheckpointExport.export(bin, CheckpointExport.Target.HF, hf);
        assertEquals(
                "exported " + bin + " (2 layers, " + CheckpointSchema.of(c).totalParameters() + " parameters) to " + hf
                        + " as transformers MambaForCausalLM (config.json, model.safetensors F32)",
                said);
        CheckpointLayout layout = CheckpointLayout.detect(hf);
        assertEquals(CheckpointLayout.Kind.TRANSFORMERS, layout.kind());
        assertEquals("MambaForCausalLM", layout.transformers().architecture());
        LoadedCheckpoint viaHf = Checkpoint.load(hf, DataType.FLOAT);
        assertSameLogits(original, viaHf);

        // and back to mamba_ssm's layout, from the transformers directory
        Path back = dir.resolve("back");
        CheckpointExport.export(hf, CheckpointExport.Target.MAMBA_SSM, back);
        assertEquals(
                CheckpointLayout.Kind.SSM_SPARK, CheckpointLayout.detect(back).kind());
        assertSameLogits(original, Checkpoint.load(back, DataType.FLOAT));
        assertEquals(List.of("config.json", "model.safetensors"), list(dir.resolve("back")));
        assertEquals(List.of("back", "bin", "hf"), list(dir), "no temporary directory is left");
    }

    /** A tied head: left out of the transformers file (save_pretrained drops it), written into mamba_ssm's. */
    @Test
    void mamba2BinToTransformersAndTheTiedHead() throws IOException {
        MambaConfig c = TransformersMamba2CheckpointTest.original(true);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 42);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, w, "BF16");
        LoadedCheckpoint original = Checkpoint.load(bin, DataType.FLOAT);
        Path hf = dir.resolve("hf");
        CheckpointExport.export(bin, CheckpointExport.Target.HF, hf);
        assertEquals(
                "Mamba2ForCausalLM", CheckpointLayout.detect(hf).transformers().architecture());
        assertFalse(names(hf.resolve(Checkpoint.MODEL_FILE)).contains("lm_head.weight"));
        assertSameLogits(original, Checkpoint.load(hf, DataType.FLOAT));

        Path ms = dir.resolve("ms");
        CheckpointExport.export(bin, CheckpointExport.Target.MAMBA_SSM, ms);
        assertTrue(names(ms.resolve(Checkpoint.MODEL_FILE)).contains("lm_head.weight"));
        assertEquals(c, Checkpoint.readConfig(ms));
        assertSameLogits(original, Checkpoint.load(ms, DataType.FLOAT));
    }

    /**
     * The config.json fields and tensor names written for transformers, against the transformers source:
     * configuration_mamba.py (MambaConfig.__init__'s attributes: hidden_size, state_size, num_hidden_layers,
     * layer_norm_epsilon, expand, intermediate_size, conv_kernel, use_bias, use_conv_bias, hidden_act,
     * residual_in_fp32, time_step_*), modeling_mamba.py (MambaForCausalLM: backbone.embeddings, backbone.layers.N.norm,
     * .mixer.{in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj}, backbone.norm_f, lm_head);
     * configuration_mamba2.py and modeling_mamba2.py as {@link io.ssmspark.model.checkpoint.hf.HfMamba2Config} reads
     * them (num_heads, head_dim, n_groups, chunk_size, rms_norm, norm_before_gate; mixer dt_bias and norm).
     */
    @Test
    void transformersFieldsAndNamesAreTheSourcesOnes() throws IOException {
        MambaConfig c = mamba1(false).toBuilder().nLayer(1).build();
        Path bin = dir.resolve("m1");
        CheckpointFixtures.writeMambaSsmBin(bin, c, CheckpointFixtures.bf16ExactWeights(c, 43), "F32");
        Path hf = dir.resolve("m1hf");
        CheckpointExport.export(bin, CheckpointExport.Target.HF, hf);
        assertEquals(
                new TreeSet<>(List.of(
                        "architectures",
                        "model_type",
                        "hidden_size",
                        "num_hidden_layers",
                        "vocab_size",
                        "state_size",
                        "expand",
                        "intermediate_size",
                        "conv_kernel",
                        "use_bias",
                        "use_conv_bias",
                        "hidden_act",
                        "time_step_rank",
                        "time_step_scale",
                        "time_step_min",
                        "time_step_max",
                        "time_step_init_scheme",
                        "time_step_floor",
                        "layer_norm_epsilon",
                        "residual_in_fp32",
                        "tie_word_embeddings",
                        "torch_dtype")),
                fields(hf.resolve(Checkpoint.CONFIG_FILE)));
        JsonNode root = new ObjectMapper().readTree(Files.readString(hf.resolve(Checkpoint.CONFIG_FILE)));
        assertEquals("[\"MambaForCausalLM\"]", root.get("architectures").toString());
        assertEquals("mamba", root.get("model_type").textValue());
        assertEquals(16, root.get("vocab_size").intValue()); // the embedding's rows
        assertEquals(16, root.get("intermediate_size").intValue());
        assertEquals(3, root.get("time_step_rank").intValue());
        assertEquals(
                new TreeSet<>(List.of(
                        "backbone.embeddings.weight",
                        "backbone.layers.0.norm.weight",
                        "backbone.layers.0.mixer.in_proj.weight",
                        "backbone.layers.0.mixer.in_proj.bias",
                        "backbone.layers.0.mixer.conv1d.weight",
                        "backbone.layers.0.mixer.conv1d.bias",
                        "backbone.layers.0.mixer.x_proj.weight",
                        "backbone.layers.0.mixer.dt_proj.weight",
                        "backbone.layers.0.mixer.dt_proj.bias",
                        "backbone.layers.0.mixer.A_log",
                        "backbone.layers.0.mixer.D",
                        "backbone.layers.0.mixer.out_proj.weight",
                        "backbone.layers.0.mixer.out_proj.bias",
                        "backbone.norm_f.weight",
                        "lm_head.weight")),
                new TreeSet<>(names(hf.resolve(Checkpoint.MODEL_FILE))));

        MambaConfig c2 = TransformersMamba2CheckpointTest.original(false).toBuilder()
                .nLayer(1)
                .build();
        Path bin2 = dir.resolve("m2");
        CheckpointFixtures.writeMambaSsmBin(bin2, c2, CheckpointFixtures.bf16ExactWeights(c2, 44), "F32");
        Path hf2 = dir.resolve("m2hf");
        CheckpointExport.export(bin2, CheckpointExport.Target.HF, hf2);
        assertEquals(
                new TreeSet<>(List.of(
                        "architectures",
                        "model_type",
                        "hidden_size",
                        "num_hidden_layers",
                        "vocab_size",
                        "state_size",
                        "expand",
                        "head_dim",
                        "num_heads",
                        "n_groups",
                        "conv_kernel",
                        "chunk_size",
                        "use_bias",
                        "use_conv_bias",
                        "hidden_act",
                        "rms_norm",
                        "norm_before_gate",
                        "time_step_min",
                        "time_step_max",
                        "time_step_floor",
                        "layer_norm_epsilon",
                        "residual_in_fp32",
                        "tie_word_embeddings",
                        "torch_dtype")),
                fields(hf2.resolve(Checkpoint.CONFIG_FILE)));
        assertEquals(
                new TreeSet<>(List.of(
                        "backbone.embeddings.weight",
                        "backbone.layers.0.norm.weight",
                        "backbone.layers.0.mixer.in_proj.weight",
                        "backbone.layers.0.mixer.conv1d.weight",
                        "backbone.layers.0.mixer.conv1d.bias",
                        "backbone.layers.0.mixer.dt_bias",
                        "backbone.layers.0.mixer.A_log",
                        "backbone.layers.0.mixer.D",
                        "backbone.layers.0.mixer.norm.weight",
                        "backbone.layers.0.mixer.out_proj.weight",
                        "backbone.norm_f.weight",
                        "lm_head.weight")),
                new TreeSet<>(names(hf2.resolve(Checkpoint.MODEL_FILE))));
    }

    /**
     * A hybrid (attention at layer 1, GQA 2 on 1, GatedMLP everywhere) goes out as BambaForCausalLM and comes back
     * with the same logits; its tensor names are those the independent test writer {@link
     * CheckpointFixtures#writeTransformersBamba} uses (modular_bamba.py's), and its config.json reads back as the
     * model's (HfBambaConfig).
     */
    @Test
    void hybridToTransformersBambaAndBackIsExact() throws IOException {
        MambaConfig c = TransformersBambaCheckpointTest.original(2, 1);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 47);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, w, "F32");
        LoadedCheckpoint original = Checkpoint.load(bin, DataType.FLOAT);
        Path hf = dir.resolve("hf");
        String said = CheckpointExport.export(bin, CheckpointExport.Target.HF, hf);
        assertTrue(said.endsWith("as transformers BambaForCausalLM (config.json, model.safetensors F32)"), said);
        assertEquals(
                "BambaForCausalLM", CheckpointLayout.detect(hf).transformers().architecture());
        LoadedCheckpoint viaHf = Checkpoint.load(hf, DataType.FLOAT);
        assertSameLogits(original, viaHf);
        assertEquals(c.toBuilder().vocabSize(16).padVocabSizeMultiple(1).build(), viaHf.config());

        Path fixture = dir.resolve("fixture");
        CheckpointFixtures.writeTransformersBamba(fixture, c, w, "F32", 1, Map.of());
        List<String> exported = names(hf.resolve(Checkpoint.MODEL_FILE));
        assertEquals(new TreeSet<>(names(fixture.resolve(Checkpoint.MODEL_FILE))), new TreeSet<>(exported));
        assertTrue(exported.contains("model.layers.1.self_attn.k_proj.weight"), exported.toString());
        assertTrue(exported.contains("model.layers.2.feed_forward.gate_proj.weight"), exported.toString());
        JsonNode config = new ObjectMapper().readTree(Files.readString(hf.resolve(Checkpoint.CONFIG_FILE)));
        assertEquals("[1]", config.get("attn_layer_indices").toString());
        assertEquals(1, config.get("num_key_value_heads").intValue());
        assertEquals(0.5, config.get("partial_rotary_factor").doubleValue());
        assertEquals(128, config.get("intermediate_size").intValue());
        assertFalse(config.has("time_step_limit"), "left to BambaConfig's default (0.0, inf)");

        Path back = dir.resolve("back");
        CheckpointExport.export(hf, CheckpointExport.Target.MAMBA_SSM, back);
        assertSameLogits(original, Checkpoint.load(back, DataType.FLOAT));
    }

    /** Mamba2 with a GatedMLP and no attention layer: Bamba too (Mamba2ForCausalLM has no MLP). */
    @Test
    void mamba2WithMlpsGoesOutAsBambaWithoutAttention() throws IOException {
        MambaConfig c = TransformersBambaCheckpointTest.original(2, 1).toBuilder()
                .attnLayerIdx(List.of())
                .attn(io.ssmspark.model.config.AttnConfig.DEFAULTS)
                .tieEmbeddings(true)
                .build();
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, CheckpointFixtures.bf16ExactWeights(c, 48), "F32");
        Path hf = dir.resolve("hf");
        CheckpointExport.export(bin, CheckpointExport.Target.HF, hf);
        assertEquals(
                "BambaForCausalLM", CheckpointLayout.detect(hf).transformers().architecture());
        assertFalse(names(hf.resolve(Checkpoint.MODEL_FILE)).contains("lm_head.weight"), "tied: left out");
        assertSameLogits(Checkpoint.load(bin, DataType.FLOAT), Checkpoint.load(hf, DataType.FLOAT));
    }

    /** What BambaForCausalLM would compute differently is refused by field, before anything is written. */
    @Test
    void hybridsTransformersWouldComputeDifferentlyAreRefusedByField() throws IOException {
        MambaConfig base = TransformersBambaCheckpointTest.original(2, 1);
        Map<String, MambaConfig> cases = new java.util.LinkedHashMap<>();
        cases.put(
                "attn_cfg.window_size = 3",
                base.toBuilder()
                        .attn(base.attn().toBuilder().windowSize(3).build())
                        .build());
        cases.put(
                "attn_cfg.rotary_emb_dim = 4",
                base.toBuilder()
                        .attn(base.attn().toBuilder().rotaryEmbDim(4).build())
                        .build());
        cases.put(
                "attn_cfg.qkv_proj_bias",
                base.toBuilder()
                        .attn(base.attn().toBuilder().qkvProjBias(true).build())
                        .build());
        cases.put("d_intermediate = 0", base.toBuilder().dIntermediate(0).build());
        int k = 0;
        for (Map.Entry<String, MambaConfig> e : cases.entrySet()) {
            Path bin = dir.resolve("bin" + k);
            CheckpointFixtures.writeMambaSsmBin(
                    bin, e.getValue(), CheckpointFixtures.bf16ExactWeights(e.getValue(), 49), "F32");
            Path out = dir.resolve("out" + k++);
            IllegalArgumentException x = assertThrows(
                    IllegalArgumentException.class,
                    () -> CheckpointExport.export(bin, CheckpointExport.Target.HF, out));
            assertTrue(
                    x.getMessage().startsWith(bin + ": cannot export to transformers: " + e.getKey()), x.getMessage());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void anExistingOutIsRefusedUnlessEmptyAndNothingIsHalfWritten() throws IOException {
        MambaConfig c = mamba1(false);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, CheckpointFixtures.bf16ExactWeights(c, 45), "F32");

        Path full = dir.resolve("full");
        Files.createDirectories(full);
        Files.writeString(full.resolve("notes.txt"), "mine");
        DirectoryNotEmptyException e = assertThrows(
                DirectoryNotEmptyException.class, () -> CheckpointExport.export(bin, CheckpointExport.Target.HF, full));
        assertEquals(full + ": --out exists and is not empty; nothing was written", e.getMessage());
        assertEquals(List.of("notes.txt"), list(full));

        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        assertThrows(
                FileAlreadyExistsException.class,
                () -> CheckpointExport.export(bin, CheckpointExport.Target.MAMBA_SSM, file));

        Path empty = dir.resolve("empty");
        Files.createDirectories(empty);
        CheckpointExport.export(bin, CheckpointExport.Target.HF, empty);
        assertEquals(List.of("config.json", "model.safetensors"), list(empty));

        // a model transformers cannot hold: refused before anything is written
        MambaConfig hybrid = TinyModels.hybrid(null);
        Path hybridDir = dir.resolve("hybrid");
        CheckpointFixtures.writeMambaSsmBin(hybridDir, hybrid, CheckpointFixtures.bf16ExactWeights(hybrid, 46), "F32");
        Path none = dir.resolve("none");
        IllegalArgumentException x = assertThrows(
                IllegalArgumentException.class,
                () -> CheckpointExport.export(hybridDir, CheckpointExport.Target.HF, none));
        assertTrue(
                x.getMessage()
                        .startsWith(
                                hybridDir + ": cannot export to transformers: ssm_cfg.ngroups = 2: transformers' Bamba"
                                        + " normalises the gated output over all channels"),
                x.getMessage());
        assertFalse(Files.exists(none));
        assertEquals(List.of("bin", "empty", "file", "full", "hybrid"), list(dir), "no temporary directory is left");
    }

    private static List<String> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
