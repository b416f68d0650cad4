package io.ssmspark.model.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MambaConfigTest {
    @TempDir
    Path dir;

    private static MambaConfig parse(String json) throws MalformedConfigException {
        return MambaConfig.fromJson(json, "config.json");
    }

    @Test
    void missingFieldsTakeMambaSsmDefaults() throws IOException {
        MambaConfig c = parse("{\"ssm_cfg\": {\"layer\": \"Mamba2\"}}");
        assertEquals(2560, c.dModel());
        assertEquals(0, c.dIntermediate());
        assertEquals(64, c.nLayer());
        assertEquals(50277, c.vocabSize());
        assertEquals(50280, c.paddedVocabSize()); // next multiple of 8
        assertEquals(List.of(), c.attnLayerIdx());
        assertTrue(c.rmsNorm());
        assertEquals(1e-5, c.normEpsilon());
        assertTrue(c.residualInFp32());
        assertTrue(c.fusedAddNorm());
        assertEquals(8, c.padVocabSizeMultiple());
        assertTrue(c.tieEmbeddings());
        SsmConfig s = c.ssm();
        assertEquals(128, s.dState());
        assertEquals(4, s.dConv());
        assertEquals(2, s.expand());
        assertEquals(64, s.headdim());
        assertEquals(1, s.ngroups());
        assertEquals(256, s.chunkSize());
        assertFalse(s.dHasHdim());
        assertTrue(s.rmsnorm());
        assertFalse(s.normBeforeGate());
        assertEquals(0.001, s.dtMin());
        assertEquals(0.1, s.dtMax());
        assertEquals(1e-4, s.dtInitFloor());
        assertEquals(1.0, s.aInitMin());
        assertEquals(16.0, s.aInitMax());
        assertNull(s.convInit());
        assertTrue(s.useMemEffPath());
        AttnConfig a = c.attn();
        assertNull(a.numHeads());
        assertEquals(0, a.rotaryEmbDim());
        assertEquals(10000.0, a.rotaryEmbBase());
        assertTrue(a.qkvProjBias());
        assertTrue(a.outProjBias());
        assertNull(a.softmaxScale());
        assertNull(a.windowSize());
        assertEquals(c, MambaConfig.builder().build());
    }

    @Test
    void derivedSizesFollowMamba2AndGatedMlp() {
        MambaConfig c = MambaConfig.builder()
                .dModel(64)
                .nLayer(3)
                .vocabSize(250)
                .dIntermediate(100)
                .ssm(SsmConfig.builder().dState(8).headdim(16).ngroups(2).build())
                .build();
        assertEquals(128, c.dInner()); // 2 * 64
        assertEquals(8, c.nHeads()); // 128 / 16
        assertEquals(160, c.convDim()); // 128 + 2 * 2 * 8
        assertEquals(296, c.inProjDim()); // 2 * 128 + 2 * 2 * 8 + 8
        assertEquals(8, c.dParamSize());
        assertEquals(128, c.mlpHidden()); // 100 rounded up to 128
        assertEquals(256, c.paddedVocabSize());
        assertEquals(256, c.toBuilder().dIntermediate(129).build().mlpHidden());
        assertEquals(0, c.toBuilder().dIntermediate(0).build().mlpHidden());
        assertEquals(
                128,
                c.toBuilder()
                        .ssm(c.ssm().toBuilder().dHasHdim(true).build())
                        .build()
                        .dParamSize());
        assertEquals(250, c.toBuilder().padVocabSizeMultiple(1).build().paddedVocabSize());
    }

    @Test
    void attentionHeadsResolveAsInMambaSsmMha() throws IOException {
        MambaConfig c = parse("{\"d_model\": 64, \"n_layer\": 3, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": 16},"
                + " \"attn_layer_idx\": [2, 0], \"attn_cfg\": {\"num_heads\": 4, \"causal\": true}}");
        assertEquals(4, c.attnNumHeadsKv());
        assertEquals(16, c.attnHeadDim());
        assertEquals(192, c.attnQkvDim()); // 16 * (4 + 2 * 4)
        assertEquals(64, c.attnOutDim());
        assertTrue(c.isAttentionLayer(0));
        assertFalse(c.isAttentionLayer(1));
        assertTrue(c.isAttentionLayer(2));
        assertThrows(IllegalArgumentException.class, () -> c.isAttentionLayer(3));

        MambaConfig gqa =
                parse("{\"d_model\": 64, \"n_layer\": 2, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": 16},"
                        + " \"attn_layer_idx\": [1], \"attn_cfg\": {\"num_heads\": 4, \"num_heads_kv\": 2, \"head_dim\": 32, \"causal\": true,"
                        + " \"rotary_emb_dim\": 32}}");
        assertEquals(256, gqa.attnQkvDim()); // 32 * (4 + 2 * 2)
        assertEquals(128, gqa.attnOutDim());
    }

    @Test
    void missingCausalMeansCausalAndExplicitFalseIsRefused() throws IOException {
        String hybrid = "{\"d_model\": 64, \"n_layer\": 2, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": 16},"
                + " \"attn_layer_idx\": [1], \"attn_cfg\": {\"num_heads\": 4%s}}";
        MambaConfig implicit = parse(String.format(hybrid, ""));
        assertEquals(parse(String.format(hybrid, ", \"causal\": true")), implicit);
        assertTrue(new ObjectMapper()
                .readTree(implicit.toJson())
                .get("attn_cfg")
                .get("causal")
                .booleanValue());
        assertMessage(
                String.format(hybrid, ", \"causal\": false"),
                "config.json: field 'attn_cfg.causal' = false is not supported");
    }

    @Test
    void writtenJsonHasEveryFieldAndReadsBackEqual() throws IOException {
        MambaConfig c = MambaConfig.builder()
                .dModel(96)
                .nLayer(4)
                .vocabSize(1000)
                .dIntermediate(200)
                .attnLayerIdx(List.of(1, 3))
                .attn(AttnConfig.builder()
                        .numHeads(6)
                        .numHeadsKv(2)
                        .rotaryEmbDim(8)
                        .rotaryEmbBase(500000.0)
                        .qkvProjBias(false)
                        .softmaxScale(0.125)
                        .windowSize(64)
                        .build())
                .ssm(SsmConfig.builder()
                        .dState(16)
                        .dConv(3)
                        .expand(1)
                        .headdim(32)
                        .ngroups(3)
                        .chunkSize(64)
                        .dHasHdim(true)
                        .normBeforeGate(true)
                        .dtMin(0.002)
                        .dtMax(0.2)
                        .dtInitFloor(1e-3)
                        .aInitRange(2, 8)
                        .convInit(0.5)
                        .useMemEffPath(false)
                        .build())
                .rmsNorm(false)
                .normEpsilon(1e-6)
                .residualInFp32(false)
                .fusedAddNorm(false)
                .padVocabSizeMultiple(16)
                .tieEmbeddings(false)
                .build();
        String json = c.toJson();
        assertEquals(c, parse(json));

        JsonNode tree = new ObjectMapper().readTree(json);
        assertEquals(
                List.of(
                        "d_model",
                        "d_intermediate",
                        "n_layer",
                        "vocab_size",
                        "ssm_cfg",
                        "attn_layer_idx",
                        "attn_cfg",
                        "rms_norm",
                        "norm_epsilon",
                        "residual_in_fp32",
                        "fused_add_norm",
                        "pad_vocab_size_multiple",
                        "tie_embeddings"),
                names(tree));
        assertEquals(
                List.of(
                        "layer",
                        "d_state",
                        "d_conv",
                        "expand",
                        "headdim",
                        "d_ssm",
                        "ngroups",
                        "A_init_range",
                        "D_has_hdim",
                        "rmsnorm",
                        "norm_before_gate",
                        "dt_min",
                        "dt_max",
                        "dt_init_floor",
                        "bias",
                        "conv_bias",
                        "chunk_size",
                        "use_mem_eff_path",
                        "conv_init"),
                names(tree.get("ssm_cfg")));
        assertEquals(
                List.of(
                        "num_heads",
                        "num_heads_kv",
                        "head_dim",
                        "mlp_dim",
                        "qkv_proj_bias",
                        "out_proj_bias",
                        "softmax_scale",
                        "causal",
                        "d_conv",
                        "rotary_emb_dim",
                        "rotary_emb_base",
                        "rotary_emb_interleaved",
                        "window_size"),
                names(tree.get("attn_cfg")));
        assertEquals("Mamba2", tree.get("ssm_cfg").get("layer").textValue());
        assertEquals(16, tree.get("attn_cfg").get("head_dim").intValue()); // resolved: 96 / 6
        assertEquals(1e-6, tree.get("norm_epsilon").doubleValue());
    }

    @Test
    void defaultConfigWritesOnlyKeysMambaSsmAccepts() throws IOException {
        JsonNode tree =
                new ObjectMapper().readTree(MambaConfig.builder().build().toJson());
        assertEquals(
                List.of(
                        "d_model",
                        "d_intermediate",
                        "n_layer",
                        "vocab_size",
                        "ssm_cfg",
                        "attn_layer_idx",
                        "attn_cfg",
                        "rms_norm",
                        "residual_in_fp32",
                        "fused_add_norm",
                        "pad_vocab_size_multiple",
                        "tie_embeddings"),
                names(tree));
        assertFalse(tree.get("attn_cfg").has("window_size"));
        assertTrue(tree.get("attn_cfg").get("causal").booleanValue());
        assertTrue(tree.get("attn_cfg").get("num_heads").isNull());
        assertEquals(MambaConfig.builder().build(), parse(tree.toString()));
    }

    @Test
    void readsAFile() throws IOException {
        MambaConfig c = MambaConfig.builder()
                .dModel(32)
                .nLayer(1)
                .vocabSize(10)
                .ssm(SsmConfig.builder().dState(4).headdim(8).build())
                .build();
        Path file = dir.resolve("config.json");
        Files.writeString(file, c.toJson());
        assertEquals(c, MambaConfig.read(file));
        NoSuchFileException e =
                assertThrows(NoSuchFileException.class, () -> MambaConfig.read(dir.resolve("nope.json")));
        assertTrue(e.getMessage().contains("nope.json"), e.getMessage());
    }

    @Test
    void acceptsPythonStyleDefaultsForSpeedAndInitFields() throws IOException {
        MambaConfig c = parse("{\"d_model\": 64, \"n_layer\": 2, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": 16,"
                + " \"dt_limit\": [0.0, Infinity], \"d_ssm\": 128, \"bias\": false, \"conv_bias\": true,"
                + " \"activation\": \"silu\", \"conv_init\": null, \"use_mem_eff_path\": false},"
                + " \"attn_cfg\": null, \"residual_in_fp32\": false, \"fused_add_norm\": false}");
        assertFalse(c.ssm().useMemEffPath());
        assertFalse(c.residualInFp32());
        assertFalse(c.fusedAddNorm());
    }

    @Test
    void refusesUnknownFieldsByPath() {
        assertMessage("{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"foo\": 1}}", "config.json: unknown field 'ssm_cfg.foo'");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\"}, \"attn_cfg\": {\"bar\": true}}",
                "config.json: unknown field 'attn_cfg.bar'");
        assertMessage("{\"ssm_cfg\": {\"layer\": \"Mamba2\"}, \"dmodel\": 3}", "config.json: unknown field 'dmodel'");
    }

    @Test
    void refusesWrongTypesNamingTheField() {
        assertMessage("{\"d_model\": \"abc\"}", "config.json: field 'd_model' must be an integer, found \"abc\"");
        assertMessage("{\"d_model\": 64.5}", "config.json: field 'd_model' must be an integer, found 64.5");
        assertMessage("{\"rms_norm\": 1}", "config.json: field 'rms_norm' must be true or false, found 1");
        assertMessage("{\"ssm_cfg\": [1]}", "config.json: field 'ssm_cfg' must be a JSON object, found [1]");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"d_state\": null}}",
                "config.json: field 'ssm_cfg.d_state' must be an integer, found null");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\"}, \"attn_layer_idx\": [0, \"x\"]}",
                "config.json: field 'attn_layer_idx[1]' must be an integer, found \"x\"");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"A_init_range\": [1]}}",
                "config.json: field 'ssm_cfg.A_init_range' must be an array of 2 numbers, found [1]");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\"}, \"attn_cfg\": {\"softmax_scale\": \"big\"}}",
                "config.json: field 'attn_cfg.softmax_scale' must be a number, found \"big\"");
        assertMessage("{\"d_model\": 4294967296}", "config.json: field 'd_model' must be an integer, found 4294967296");
    }

    @Test
    void refusesBadJsonAndNonObjects() {
        assertMessage("{\"d_model\": 64,", "config.json: not valid JSON at line 1");
        assertMessage("[1, 2]", "config.json: expected a JSON object at the top level, found array");
        assertMessage("", "config.json: expected a JSON object at the top level, found nothing");
        assertMessage("{\"d_model\": 1, \"d_model\": 2}", "Duplicate field 'd_model'");
    }

    @Test
    void refusesUnsupportedValuesByName() {
        String ssm = "{\"ssm_cfg\": {\"layer\": \"Mamba2\"%s}, \"attn_cfg\": {\"num_heads\": 8%s}}";
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba3\"}}",
                "config.json: field 'ssm_cfg.layer' = \"Mamba3\" is not supported; the supported layers are \"Mamba1\""
                        + " (also when none is named), \"Mamba2\", \"RetNet\" and \"S4D\"");
        assertMessage(String.format(ssm, "", ", \"mlp_dim\": 64"), "field 'attn_cfg.mlp_dim' = 64 is not supported");
        assertMessage(String.format(ssm, "", ", \"d_conv\": 4"), "field 'attn_cfg.d_conv' = 4 is not supported");
        assertMessage(
                String.format(ssm, "", ", \"causal\": false"), "field 'attn_cfg.causal' = false is not supported");
        assertMessage(
                String.format(ssm, "", ", \"rotary_emb_interleaved\": true"),
                "field 'attn_cfg.rotary_emb_interleaved' = true is not supported");
        assertMessage(String.format(ssm, ", \"bias\": true", ""), "field 'ssm_cfg.bias' = true is not supported");
        assertMessage(
                String.format(ssm, ", \"conv_bias\": false", ""), "field 'ssm_cfg.conv_bias' = false is not supported");
        assertMessage(
                String.format(ssm, ", \"d_ssm\": 2560", ""),
                "field 'ssm_cfg.d_ssm' = 2560 is not supported; only null or d_inner = expand * d_model = 5120");
        assertMessage(
                String.format(ssm, ", \"dt_limit\": [0.001, 0.1]", ""),
                "field 'ssm_cfg.dt_limit' = [0.001, 0.1] is not supported");
        assertMessage(
                String.format(ssm, ", \"activation\": \"relu\"", ""),
                "field 'ssm_cfg.activation' = \"relu\" is not supported");
    }

    @Test
    void refusesInconsistentSizes() {
        String base =
                "{\"d_model\": 64, \"n_layer\": 2, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": %s, \"ngroups\": %s},"
                        + " \"attn_layer_idx\": %s, \"attn_cfg\": {\"causal\": true%s}}";
        assertMessage(
                String.format(base, 48, 1, "[]", ""),
                "config.json: ssm_cfg.headdim: d_inner = expand * d_model = 2 * 64 = 128 is not divisible by headdim = 48");
        assertMessage(
                String.format(base, 16, 3, "[]", ""),
                "config.json: ssm_cfg.ngroups: nheads = d_inner / headdim = 8 is not divisible by ngroups = 3");
        assertMessage(
                String.format(base, 16, 1, "[1]", ", \"num_heads\": 4, \"num_heads_kv\": 3"),
                "config.json: attn_cfg.num_heads_kv: num_heads = 4 is not divisible by num_heads_kv = 3");
        assertMessage(
                String.format(base, 16, 1, "[1]", ", \"num_heads\": 4, \"rotary_emb_dim\": 5"),
                "config.json: attn_cfg.rotary_emb_dim must be even and >= 0, found 5");
        assertMessage(
                String.format(base, 16, 1, "[1]", ", \"num_heads\": 4, \"rotary_emb_dim\": 18"),
                "config.json: attn_cfg.rotary_emb_dim = 18 exceeds head_dim = 16");
        assertMessage(
                String.format(base, 16, 1, "[2]", ", \"num_heads\": 4"),
                "config.json: attn_layer_idx: layer 2 is outside [0, n_layer = 2)");
        assertMessage(
                String.format(base, 16, 1, "[-1]", ", \"num_heads\": 4"),
                "config.json: attn_layer_idx: layer -1 is outside [0, n_layer = 2)");
        assertMessage(
                String.format(base, 16, 1, "[1, 1]", ", \"num_heads\": 4"),
                "config.json: attn_layer_idx: layer 1 is listed twice");
        assertMessage(
                String.format(base, 16, 1, "[1]", ""),
                "config.json: attn_cfg.num_heads is required because attn_layer_idx is not empty");
        assertMessage(
                String.format(base, 16, 1, "[1]", ", \"num_heads\": 6"),
                "config.json: attn_cfg.num_heads: d_model = 64 is not divisible by num_heads = 6 (needed when head_dim is not given)");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"d_state\": 0}}",
                "config.json: ssm_cfg.d_state must be >= 1, found 0");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"A_init_range\": [0, 16]}}",
                "config.json: ssm_cfg.A_init_range must be [lo, hi] with 0 < lo <= hi, found [0.0, 16.0]");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\"}, \"norm_epsilon\": 0}",
                "config.json: norm_epsilon must be a finite number > 0, found 0.0");
    }

    @Test
    void builderRefusesInconsistentSizesToo() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> MambaConfig.builder()
                        .dModel(64)
                        .ssm(SsmConfig.builder().headdim(48).build())
                        .build());
        assertEquals(
                "ssm_cfg.headdim: d_inner = expand * d_model = 2 * 64 = 128 is not divisible by headdim = 48",
                e.getMessage());
    }

    private static List<String> names(JsonNode node) {
        List<String> out = new ArrayList<>();
        node.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static void assertMessage(String json, String expectedPart) {
        MalformedConfigException e = assertThrows(MalformedConfigException.class, () -> parse(json), json);
        assertTrue(e.getMessage().contains(expectedPart), "expected '" + expectedPart + "' in: " + e.getMessage());
    }
}
