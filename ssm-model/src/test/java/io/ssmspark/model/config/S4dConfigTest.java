package io.ssmspark.model.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ssm_cfg of an S4D layer: its fields and defaults, the toJson round trip, and one clear error per bad value. */
class S4dConfigTest {

    private static MambaConfig parse(String json) throws MalformedConfigException {
        return MambaConfig.fromJson(json, "config.json");
    }

    @Test
    void parsesItsFieldsWithS4dDefaults() throws MalformedConfigException {
        MambaConfig c = parse("{\"d_model\": 16, \"n_layer\": 2, \"ssm_cfg\": {\"layer\": \"S4D\"}}");
        SsmConfig s = c.ssm();
        assertEquals("S4D", s.layer());
        assertEquals(64, s.dState());
        assertEquals(S4dConfig.Init.LIN, s.s4d().init());
        assertEquals(0.001, s.dtMin());
        assertEquals(0.1, s.dtMax());
        assertEquals(256, s.chunkSize());

        MambaConfig d = parse("{\"d_model\": 16, \"n_layer\": 2, \"ssm_cfg\": {\"layer\": \"S4D\", \"d_state\": 5,"
                + " \"init\": \"real\", \"dt_min\": 0.01, \"dt_max\": 0.2, \"chunk_size\": 32}}");
        assertEquals(5, d.ssm().dState());
        assertEquals(S4dConfig.Init.REAL, d.ssm().s4d().init());
        assertEquals(5, d.ssm().s4d().modes(5));
        assertEquals(0.01, d.ssm().dtMin());
        assertEquals(0.2, d.ssm().dtMax());
        assertEquals(32, d.ssm().chunkSize());
        // a Mamba2 config has no S4D settings
        assertNull(parse("{\"ssm_cfg\": {\"layer\": \"Mamba2\"}}").ssm().s4d());
    }

    @Test
    void toJsonRoundTripsAndWritesOnlyS4dFields() throws IOException {
        for (S4dConfig.Init init : S4dConfig.Init.values()) {
            MambaConfig c = MambaConfig.builder()
                    .dModel(24)
                    .nLayer(3)
                    .vocabSize(100)
                    .attnLayerIdx(List.of(1))
                    .attn(AttnConfig.builder().numHeads(4).build())
                    .ssm(SsmConfig.builder()
                            .layer(S4dConfig.LAYER)
                            .dState(8)
                            .dtMin(0.002)
                            .dtMax(0.05)
                            .chunkSize(16)
                            .s4d(new S4dConfig(init))
                            .build())
                    .build();
            String json = c.toJson();
            assertEquals(c, parse(json), json);
            JsonNode ssm = new ObjectMapper().readTree(json).get("ssm_cfg");
            List<String> names = new ArrayList<>();
            ssm.fieldNames().forEachRemaining(names::add);
            assertEquals(List.of("layer", "d_state", "init", "dt_min", "dt_max", "chunk_size"), names);
            assertEquals(init.jsonName(), ssm.get("init").textValue());
        }
        // the Mamba2-only fields do not apply: a builder value there is dropped, so the config still round-trips
        MambaConfig odd = MambaConfig.builder()
                .dModel(24)
                .nLayer(1)
                .vocabSize(100)
                .ssm(SsmConfig.builder()
                        .layer(S4dConfig.LAYER)
                        .dState(8)
                        .dConv(2)
                        .headdim(7)
                        .build())
                .build();
        assertEquals(SsmConfig.DEFAULTS.dConv(), odd.ssm().dConv());
        assertEquals(odd, parse(odd.toJson()));
        assertEquals(S4dConfig.DEFAULTS, odd.ssm().s4d());
    }

    /** S4D skips the Mamba2 size rules: d_model 10 with expand 2 and headdim 64 would fail them. */
    @Test
    void mamba2SizeRulesDoNotApply() throws MalformedConfigException {
        MambaConfig c = parse("{\"d_model\": 10, \"n_layer\": 1, \"ssm_cfg\": {\"layer\": \"S4D\", \"d_state\": 4}}");
        assertEquals(10, c.dModel());
        assertThrows(
                IllegalArgumentException.class,
                () -> MambaConfig.builder().dModel(10).nLayer(1).build());
    }

    @Test
    void refusesBadValuesByName() {
        String base = "{\"d_model\": 16, \"n_layer\": 2, \"ssm_cfg\": {\"layer\": \"S4D\"%s}}";
        assertMessage(String.format(base, ", \"d_conv\": 4"), "config.json: unknown field 'ssm_cfg.d_conv'");
        assertMessage(String.format(base, ", \"headdim\": 4"), "config.json: unknown field 'ssm_cfg.headdim'");
        assertMessage(
                String.format(base, ", \"init\": \"diag-lin\""),
                "config.json: field 'ssm_cfg.init' ="
                        + " \"diag-lin\" is not supported; expected one of \"lin\", \"inv\", \"real\", \"legs\"");
        assertMessage(String.format(base, ", \"init\": 3"), "field 'ssm_cfg.init' must be a string, found 3");
        assertMessage(
                String.format(base, ", \"d_state\": 7"),
                "config.json: ssm_cfg.d_state must be even for the S4D"
                        + " init \"lin\" (N/2 complex conjugate pairs), found 7");
        assertMessage(
                String.format(base, ", \"d_state\": 7, \"init\": \"inv\""), "must be even for the S4D init \"inv\"");
        assertMessage(String.format(base, ", \"d_state\": 0"), "ssm_cfg.d_state must be >= 1, found 0");
        assertMessage(
                String.format(base, ", \"dt_min\": 0.5, \"dt_max\": 0.1"),
                "ssm_cfg.dt_max must be finite and" + " >= dt_min = 0.5, found 0.1");
        assertMessage(String.format(base, ", \"chunk_size\": 0"), "ssm_cfg.chunk_size must be >= 1, found 0");
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"S4\"}}",
                "field 'ssm_cfg.layer' = \"S4\" is not supported;"
                        + " the supported layers are \"Mamba1\" (also when none is named), \"Mamba2\", \"RetNet\" and \"S4D\"");
    }

    @Test
    void builderRefusesS4dSettingsOnAnotherLayer() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> SsmConfig.builder().s4d(S4dConfig.DEFAULTS).build());
        assertEquals("ssm_cfg: S4D settings given for layer \"Mamba2\"", e.getMessage());
    }

    private static void assertMessage(String json, String expectedPart) {
        MalformedConfigException e = assertThrows(MalformedConfigException.class, () -> parse(json), json);
        assertTrue(e.getMessage().contains(expectedPart), "expected '" + expectedPart + "' in: " + e.getMessage());
    }
}
