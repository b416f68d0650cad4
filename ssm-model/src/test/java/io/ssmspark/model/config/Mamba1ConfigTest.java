package io.ssmspark.model.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ssm_cfg of mamba_ssm's Mamba (Mamba1) layer: what mamba_ssm builds when no layer is named (the published
 * mamba-130m … 2.8b configs carry {@code "ssm_cfg": {}}), Mamba.__init__'s defaults, dt_rank "auto" or an integer,
 * the round trip, and one clear error for each bad value.
 */
class Mamba1ConfigTest {

    private static MambaConfig parse(String json) throws MalformedConfigException {
        return MambaConfig.fromJson(json, "config.json");
    }

    /** state-spaces/mamba-130m's config.json. */
    static final String MAMBA_130M = "{\"d_model\": 768, \"n_layer\": 24, \"vocab_size\": 50277, \"ssm_cfg\": {},"
            + " \"rms_norm\": true, \"residual_in_fp32\": true, \"fused_add_norm\": true,"
            + " \"pad_vocab_size_multiple\": 8}";

    @Test
    void emptySsmCfgIsMamba1WithMambaSsmDefaults() throws IOException {
        for (String json : new String[] {
            MAMBA_130M,
            MAMBA_130M.replace("\"ssm_cfg\": {},", ""),
            MAMBA_130M.replace("\"ssm_cfg\": {}", "\"ssm_cfg\": null"),
            MAMBA_130M.replace("\"ssm_cfg\": {}", "\"ssm_cfg\": {\"layer\": \"Mamba1\"}")
        }) {
            MambaConfig c = parse(json);
            SsmConfig s = c.ssm();
            assertEquals("Mamba1", s.layer(), json);
            assertTrue(s.isMamba1());
            assertEquals(16, s.dState());
            assertEquals(4, s.dConv());
            assertEquals(2, s.expand());
            assertNull(s.dtRank()); // "auto"
            assertEquals(48, c.dtRank()); // ⌈768 / 16⌉
            assertEquals(0.001, s.dtMin());
            assertEquals(0.1, s.dtMax());
            assertEquals("random", s.dtInit());
            assertEquals(1.0, s.dtScale());
            assertEquals(1e-4, s.dtInitFloor());
            assertTrue(s.convBias());
            assertFalse(s.bias());
            assertTrue(s.useFastPath());
            assertEquals(1536, c.dInner());
            assertEquals(SsmConfig.MAMBA1_DEFAULTS, s);
        }
    }

    @Test
    void dtRankIsAutoOrAnInteger() throws IOException {
        String json = "{\"d_model\": 40, \"n_layer\": 1, \"ssm_cfg\": {\"dt_rank\": %s}}";
        assertEquals(3, parse(String.format(json, "\"auto\"")).dtRank()); // ⌈40 / 16⌉
        assertNull(parse(String.format(json, "\"auto\"")).ssm().dtRank());
        assertEquals(7, parse(String.format(json, "7")).dtRank());
        assertEquals(1, parse(String.format(json, "1")).dtRank());
        assertEquals(1, parse("{\"d_model\": 16, \"n_layer\": 1}").dtRank());
        assertEquals(2, parse("{\"d_model\": 17, \"n_layer\": 1}").dtRank());
        for (String bad : new String[] {"\"big\"", "0", "-2", "2.5", "null", "[4]"}) {
            assertMessage(
                    String.format(json, bad),
                    "config.json: field 'ssm_cfg.dt_rank' must be \"auto\" or an integer >= 1, found " + bad);
        }
    }

    @Test
    void mamba2ChecksDoNotApplyToMamba1() throws IOException {
        // d_inner 2 · 24 = 48 is not divisible by Mamba2's default headdim 64
        MambaConfig c = parse("{\"d_model\": 24, \"n_layer\": 1, \"ssm_cfg\": {}}");
        assertEquals(48, c.dInner());
        assertThrows(
                IllegalArgumentException.class,
                () -> MambaConfig.builder().dModel(24).nLayer(1).build());
    }

    @Test
    void writtenJsonHasEveryMamba1ArgumentAndReadsBackEqual() throws IOException {
        MambaConfig c = MambaConfig.builder()
                .dModel(48)
                .nLayer(3)
                .vocabSize(1000)
                .dIntermediate(64)
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder().numHeads(4).build())
                .ssm(SsmConfig.mamba1Builder()
                        .dState(8)
                        .dConv(3)
                        .expand(3)
                        .dtRank(5)
                        .dtMin(0.002)
                        .dtMax(0.2)
                        .dtInit("constant")
                        .dtScale(0.5)
                        .dtInitFloor(1e-3)
                        .convBias(false)
                        .bias(true)
                        .useFastPath(false)
                        .build())
                .tieEmbeddings(false)
                .build();
        String json = c.toJson();
        assertEquals(c, parse(json));
        JsonNode ssm = new ObjectMapper().readTree(json).get("ssm_cfg");
        List<String> names = new ArrayList<>();
        ssm.fieldNames().forEachRemaining(names::add);
        assertEquals(
                List.of(
                        "layer",
                        "d_state",
                        "d_conv",
                        "expand",
                        "dt_rank",
                        "dt_min",
                        "dt_max",
                        "dt_init",
                        "dt_scale",
                        "dt_init_floor",
                        "conv_bias",
                        "bias",
                        "use_fast_path"),
                names);
        assertEquals("Mamba1", ssm.get("layer").textValue());
        assertEquals(5, ssm.get("dt_rank").intValue());

        MambaConfig auto = parse(MAMBA_130M);
        String written = auto.toJson();
        assertEquals(
                "auto",
                new ObjectMapper()
                        .readTree(written)
                        .get("ssm_cfg")
                        .get("dt_rank")
                        .textValue());
        assertEquals(auto, parse(written));
    }

    @Test
    void refusesBadValuesAndMamba2ArgumentsByName() {
        String ssm = "{\"d_model\": 64, \"n_layer\": 2, \"ssm_cfg\": {%s}}";
        assertMessage(
                String.format(ssm, "\"dt_init\": \"xavier\""),
                "config.json: field 'ssm_cfg.dt_init' = \"xavier\" is not supported; only \"random\" or \"constant\"");
        assertMessage(
                String.format(ssm, "\"dt_scale\": -1"),
                "config.json: field 'ssm_cfg.dt_scale' = -1.0 is not supported; only a finite number >= 0");
        assertMessage(
                String.format(ssm, "\"d_conv\": 1"),
                "config.json: field 'ssm_cfg.d_conv' = 1 is not supported; ssm-spark's causal conv needs a kernel of"
                        + " at least 2");
        assertMessage(String.format(ssm, "\"dt_min\": 0"), "config.json: ssm_cfg.dt_min must be a finite number > 0");
        assertMessage(
                String.format(ssm, "\"dt_max\": 0.0001"), "config.json: ssm_cfg.dt_max must be finite and >= dt_min");
        assertMessage(String.format(ssm, "\"d_state\": 0"), "config.json: ssm_cfg.d_state must be >= 1, found 0");
        assertMessage(
                String.format(ssm, "\"conv_bias\": \"yes\""),
                "config.json: field 'ssm_cfg.conv_bias' must be true or false, found \"yes\"");
        assertMessage(
                String.format(ssm, "\"expand\": 1.5"),
                "config.json: field 'ssm_cfg.expand' must be an integer, found 1.5");
        for (String key : new String[] {
            "headdim", "ngroups", "chunk_size", "D_has_hdim", "rmsnorm", "A_init_range", "use_mem_eff_path"
        }) {
            assertMessage(
                    String.format(ssm, "\"" + key + "\": 1"),
                    "config.json: field 'ssm_cfg." + key
                            + "' is an argument of mamba_ssm's Mamba2 only; mamba_ssm's Mamba (ssm_cfg.layer \"Mamba1\", also"
                            + " when no layer is named) has no such argument and refuses it");
        }
        assertMessage(
                String.format(ssm, "\"layer\": \"Mamba1\", \"headdim\": 64"),
                "field 'ssm_cfg.headdim' is an argument of mamba_ssm's Mamba2 only");
        assertMessage(String.format(ssm, "\"layer_idx\": 0"), "config.json: unknown field 'ssm_cfg.layer_idx'");
        assertMessage(String.format(ssm, "\"foo\": 0"), "config.json: unknown field 'ssm_cfg.foo'");
        // and the other way round: Mamba1's arguments are not Mamba2's (mamba_ssm's Mamba2 refuses them)
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"dt_rank\": 4}}",
                "config.json: unknown field 'ssm_cfg.dt_rank'");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"dt_init\": \"random\"}}",
                "config.json: unknown field 'ssm_cfg.dt_init'");
    }

    @Test
    void builderRefusesBadMamba1Values() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> SsmConfig.mamba1Builder().dtRank(0).build());
        assertEquals("ssm_cfg.dt_rank must be >= 1, found 0", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> SsmConfig.mamba1Builder().dtInit("orthogonal").build());
        assertEquals("ssm_cfg.dt_init must be \"random\" or \"constant\", found \"orthogonal\"", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> MambaConfig.builder()
                        .dModel(64)
                        .ssm(SsmConfig.builder().bias(true).build())
                        .build());
        assertTrue(
                e.getMessage().startsWith("ssm_cfg: ssm-spark's Mamba2 has conv_bias = true and bias = false only"),
                e.getMessage());
    }

    private static void assertMessage(String json, String expectedPart) {
        MalformedConfigException e = assertThrows(MalformedConfigException.class, () -> parse(json), json);
        assertTrue(e.getMessage().contains(expectedPart), "expected '" + expectedPart + "' in: " + e.getMessage());
    }
}
