package io.ssmspark.model.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.ModelSize;
import io.ssmspark.model.lm.ModelInit;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** ssm_cfg.layer "RetNet": its fields parsed with defaults, written and read back, refused by name; its size. */
class RetNetConfigTest {

    private static MambaConfig parse(String json) throws MalformedConfigException {
        return MambaConfig.fromJson(json, "config.json");
    }

    private static MambaConfig.Builder model(RetNetConfig r) {
        return MambaConfig.builder()
                .dModel(48)
                .nLayer(3)
                .vocabSize(250)
                .dIntermediate(40)
                .ssm(SsmConfig.builder().retNet(r).chunkSize(32).build())
                .tieEmbeddings(false);
    }

    @Test
    void missingFieldsTakeTheDefaults() throws IOException {
        MambaConfig c = parse("{\"d_model\": 64, \"ssm_cfg\": {\"layer\": \"RetNet\", \"num_heads\": 4}}");
        assertEquals("RetNet", c.ssm().layer());
        assertEquals(new RetNetConfig(4, 2, true, true, 1e-6), c.ssm().retNet());
        assertEquals(256, c.ssm().chunkSize());
        assertEquals(16, c.ssm().retNet().keyDim(64));
        assertEquals(32, c.ssm().retNet().valueDim(64));
        // Mamba2's sizes are not checked for a RetNet layer: d_inner 128 with headdim 64 would pass anyway, so
        // take a d_model whose Mamba2 defaults fail (2·40 = 80 is not a multiple of headdim 64)
        MambaConfig odd = parse("{\"d_model\": 40, \"ssm_cfg\": {\"layer\": \"RetNet\", \"num_heads\": 5}}");
        assertEquals(8, odd.ssm().retNet().keyDim(40));
        assertThrows(
                MalformedConfigException.class, () -> parse("{\"d_model\": 40, \"ssm_cfg\": {\"layer\": \"Mamba2\"}}"));
    }

    @Test
    void writtenJsonHasEveryFieldAndReadsBackEqual() throws IOException {
        MambaConfig c = model(
                        RetNetConfig.of(3).withValueFactor(1).withGate(false).withGroupNormEps(1e-5))
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder().numHeads(4).build())
                .build();
        String json = c.toJson();
        assertEquals(c, parse(json));
        JsonNode ssm = new ObjectMapper().readTree(json).get("ssm_cfg");
        List<String> names = new ArrayList<>();
        ssm.fieldNames().forEachRemaining(names::add);
        assertEquals(
                List.of("layer", "num_heads", "value_factor", "group_norm", "gate", "group_norm_eps", "chunk_size"),
                names);
        assertEquals("RetNet", ssm.get("layer").textValue());
        assertEquals(3, ssm.get("num_heads").intValue());
        assertFalse(ssm.get("gate").booleanValue());
        assertEquals(32, ssm.get("chunk_size").intValue());
        // and a Mamba2 config still writes no RetNet field
        assertFalse(new ObjectMapper()
                .readTree(MambaConfig.builder().build().toJson())
                .get("ssm_cfg")
                .has("num_heads"));
        assertNull(MambaConfig.builder().build().ssm().retNet());
    }

    @Test
    void refusesBadFieldsByName() {
        String retnet = "{\"d_model\": 64, \"ssm_cfg\": {\"layer\": \"RetNet\"%s}}";
        assertMessage(String.format(retnet, ""), "config.json: field 'ssm_cfg.num_heads' is missing");
        assertMessage(String.format(retnet, ", \"num_heads\": null"), "field 'ssm_cfg.num_heads' is missing");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 5"),
                "config.json: ssm_cfg.num_heads: d_model = 64 is not divisible by num_heads = 5");
        assertMessage(String.format(retnet, ", \"num_heads\": 0"), "ssm_cfg.num_heads must be >= 1, found 0");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"value_factor\": 0"),
                "ssm_cfg.value_factor must be >= 1, found 0");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"value_factor\": 1.5"),
                "field 'ssm_cfg.value_factor' must be an integer, found 1.5");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"gate\": \"yes\""),
                "field 'ssm_cfg.gate' must be true or false");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"group_norm\": 1"),
                "field 'ssm_cfg.group_norm' must be true or false");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"group_norm_eps\": 0"),
                "ssm_cfg.group_norm_eps must be a finite number > 0, found 0.0");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"chunk_size\": 0"),
                "ssm_cfg.chunk_size must be >= 1, found 0");
        // Mamba2's fields mean nothing to a RetNet layer: refused, not dropped
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"d_state\": 16"),
                "config.json: unknown field 'ssm_cfg.d_state'");
        assertMessage(
                String.format(retnet, ", \"num_heads\": 4, \"headdim\": 16"),
                "config.json: unknown field 'ssm_cfg.headdim'");
        // and RetNet's mean nothing to a Mamba2 layer
        assertMessage(
                "{\"ssm_cfg\": {\"layer\": \"Mamba2\", \"num_heads\": 4}}",
                "config.json: unknown field 'ssm_cfg.num_heads'");
    }

    @Test
    void builderKeepsLayerAndSettingsTogether() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> SsmConfig.builder().layer("RetNet").build());
        assertEquals("ssm_cfg: layer \"RetNet\" needs its retention settings (ssm_cfg.num_heads)", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> SsmConfig.builder()
                        .retNet(RetNetConfig.of(2))
                        .layer("Mamba2")
                        .build());
        assertEquals(
                "ssm_cfg: retention settings are given but ssm_cfg.layer is \"Mamba2\", not \"RetNet\"",
                e.getMessage());
        assertEquals(
                "RetNet", SsmConfig.builder().retNet(RetNetConfig.of(2)).build().layer());
    }

    @Test
    void modelSizeEqualsTheSchema() {
        List<MambaConfig> configs = List.of(
                model(RetNetConfig.of(4)).build(),
                model(RetNetConfig.of(4).withGate(false)).build(),
                model(RetNetConfig.of(3).withValueFactor(3).withGroupNorm(false))
                        .tieEmbeddings(true)
                        .build(),
                model(RetNetConfig.of(1).withValueFactor(1))
                        .dIntermediate(0)
                        .rmsNorm(false)
                        .build(),
                model(RetNetConfig.of(6))
                        .attnLayerIdx(List.of(0, 2))
                        .attn(AttnConfig.builder().numHeads(4).numHeadsKv(2).build())
                        .build());
        for (MambaConfig c : configs) {
            assertEquals(CheckpointSchema.of(c).totalParameters(), ModelSize.parameters(c), c.toJson());
        }
        MambaConfig c = configs.get(0);
        try (INDArray parameters = ModelInit.initialize(c, 1, DataType.FLOAT)) {
            assertEquals(parameters.length(), ModelSize.parameters(c));
        }
        // d = 48, 4 heads, values 96 wide: q, k 48×48, v, g 96×48, out 48×96 per layer
        long retention = 2L * 48 * 48 + 2L * 96 * 48 + 48L * 96;
        long perLayer = 48 + retention + 48 + 3L * 128 * 48; // norm, mixer, norm2, GatedMLP (hidden 128)
        assertEquals(2L * 256 * 48 + 3 * perLayer + 48, ModelSize.parameters(c));
    }

    private static void assertMessage(String json, String expectedPart) {
        MalformedConfigException e = assertThrows(MalformedConfigException.class, () -> parse(json), json);
        assertTrue(e.getMessage().contains(expectedPart), "expected '" + expectedPart + "' in: " + e.getMessage());
    }
}
