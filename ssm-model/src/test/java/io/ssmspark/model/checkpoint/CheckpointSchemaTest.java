package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CheckpointSchemaTest {
    /** d_model 32, 3 layers (layer 1 attention), MLP 40 -> 128, ngroups 2, untied, vocab 250 -> 256. */
    static MambaConfig hybrid() {
        return MambaConfig.builder()
                .dModel(32)
                .nLayer(3)
                .vocabSize(250)
                .dIntermediate(40)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .headdim(16)
                        .ngroups(2)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder().numHeads(4).numHeadsKv(2).build())
                .tieEmbeddings(false)
                .build();
    }

    @Test
    void hybridNamesAndShapesAreMambaSsms() {
        // d_inner 64, nheads 4, conv_dim 64 + 2*2*4 = 80, in_proj 2*64 + 2*2*4 + 4 = 148;
        // attention head_dim 32/4 = 8, qkv 8 * (4 + 2*2) = 64; MLP hidden 128.
        List<String> expected = new ArrayList<>();
        expected.add("backbone.embedding.weight [256, 32]");
        for (int i = 0; i < 3; i++) {
            String p = "backbone.layers." + i + ".";
            expected.add(p + "norm.weight [32]");
            if (i == 1) {
                expected.add(p + "mixer.in_proj.weight [64, 32]");
                expected.add(p + "mixer.in_proj.bias [64]");
                expected.add(p + "mixer.out_proj.weight [32, 32]");
                expected.add(p + "mixer.out_proj.bias [32]");
            } else {
                expected.add(p + "mixer.in_proj.weight [148, 32]");
                expected.add(p + "mixer.conv1d.weight [80, 1, 4]");
                expected.add(p + "mixer.conv1d.bias [80]");
                expected.add(p + "mixer.dt_bias [4]");
                expected.add(p + "mixer.A_log [4]");
                expected.add(p + "mixer.D [4]");
                expected.add(p + "mixer.norm.weight [64]");
                expected.add(p + "mixer.out_proj.weight [32, 64]");
            }
            expected.add(p + "norm2.weight [32]");
            expected.add(p + "mlp.fc1.weight [256, 32]");
            expected.add(p + "mlp.fc2.weight [32, 128]");
        }
        expected.add("backbone.norm_f.weight [32]");
        expected.add("lm_head.weight [256, 32]");

        CheckpointSchema schema = CheckpointSchema.of(hybrid());
        List<String> actual = schema.tensors().stream()
                .map(t -> t.name() + " " + java.util.Arrays.toString(t.shape()))
                .toList();
        assertEquals(expected, actual);
    }

    @Test
    void hybridParameterCountOffsetsAndDecayGroups() {
        CheckpointSchema schema = CheckpointSchema.of(hybrid());
        // Mamba2 layer: 32 + 148*32 + 80*4 + 80 + 4 + 4 + 4 + 64 + 32*64 = 7292
        // attention layer: 32 + 64*32 + 64 + 32*32 + 32 = 3200
        // MLP part of each layer: 32 + 256*32 + 32*128 = 12320
        // total: 256*32 + 2*(7292 + 12320) + (3200 + 12320) + 32 + 256*32 = 71160
        assertEquals(71160, schema.totalParameters());
        assertEquals(0, schema.get("backbone.embedding.weight").offset());
        assertEquals(8192, schema.get("backbone.layers.0.norm.weight").offset());
        assertEquals(8224, schema.get("backbone.layers.0.mixer.in_proj.weight").offset());
        assertEquals(8192 + 19612, schema.get("backbone.layers.1.norm.weight").offset());
        assertEquals(71160 - 8192, schema.get("lm_head.weight").offset());

        List<String> noDecay = schema.tensors().stream()
                .filter(t -> !t.weightDecay())
                .map(TensorSpec::name)
                .filter(n -> n.startsWith("backbone.layers.1.")
                        || n.startsWith("backbone.layers.0.")
                        || !n.startsWith("backbone.layers."))
                .toList();
        assertEquals(
                List.of(
                        "backbone.layers.0.norm.weight",
                        "backbone.layers.0.mixer.conv1d.bias",
                        "backbone.layers.0.mixer.dt_bias",
                        "backbone.layers.0.mixer.A_log",
                        "backbone.layers.0.mixer.D",
                        "backbone.layers.0.mixer.norm.weight",
                        "backbone.layers.0.norm2.weight",
                        "backbone.layers.1.norm.weight",
                        "backbone.layers.1.mixer.in_proj.bias",
                        "backbone.layers.1.mixer.out_proj.bias",
                        "backbone.layers.1.norm2.weight",
                        "backbone.norm_f.weight"),
                noDecay);
        List<String> decay = schema.tensors().stream()
                .filter(TensorSpec::weightDecay)
                .map(TensorSpec::name)
                .filter(n -> !n.startsWith("backbone.layers.2."))
                .toList();
        assertEquals(
                List.of(
                        "backbone.embedding.weight",
                        "backbone.layers.0.mixer.in_proj.weight",
                        "backbone.layers.0.mixer.conv1d.weight",
                        "backbone.layers.0.mixer.out_proj.weight",
                        "backbone.layers.0.mlp.fc1.weight",
                        "backbone.layers.0.mlp.fc2.weight",
                        "backbone.layers.1.mixer.in_proj.weight",
                        "backbone.layers.1.mixer.out_proj.weight",
                        "backbone.layers.1.mlp.fc1.weight",
                        "backbone.layers.1.mlp.fc2.weight",
                        "lm_head.weight"),
                decay);
    }

    @Test
    void layerNormTiedConfigHasBiasesNoGateNormAndNoHead() {
        // d_model 16, LayerNorm, tied, D per channel, no gated RMSNorm; vocab 10 -> 16;
        // d_inner 32, nheads 4, conv_dim 32 + 2*2 = 36, in_proj 64 + 4 + 4 = 72.
        MambaConfig c = MambaConfig.builder()
                .dModel(16)
                .nLayer(2)
                .vocabSize(10)
                .rmsNorm(false)
                .ssm(SsmConfig.builder()
                        .dState(2)
                        .dConv(3)
                        .headdim(8)
                        .dHasHdim(true)
                        .rmsnorm(false)
                        .build())
                .build();
        CheckpointSchema schema = CheckpointSchema.of(c);
        assertEquals(
                List.of(
                        "backbone.embedding.weight",
                        "backbone.layers.0.norm.weight",
                        "backbone.layers.0.norm.bias",
                        "backbone.layers.0.mixer.in_proj.weight",
                        "backbone.layers.0.mixer.conv1d.weight",
                        "backbone.layers.0.mixer.conv1d.bias",
                        "backbone.layers.0.mixer.dt_bias",
                        "backbone.layers.0.mixer.A_log",
                        "backbone.layers.0.mixer.D",
                        "backbone.layers.0.mixer.out_proj.weight",
                        "backbone.layers.1.norm.weight",
                        "backbone.layers.1.norm.bias",
                        "backbone.layers.1.mixer.in_proj.weight",
                        "backbone.layers.1.mixer.conv1d.weight",
                        "backbone.layers.1.mixer.conv1d.bias",
                        "backbone.layers.1.mixer.dt_bias",
                        "backbone.layers.1.mixer.A_log",
                        "backbone.layers.1.mixer.D",
                        "backbone.layers.1.mixer.out_proj.weight",
                        "backbone.norm_f.weight",
                        "backbone.norm_f.bias"),
                schema.names());
        assertArrayEquals(
                new long[] {32}, schema.get("backbone.layers.1.mixer.D").shape());
        assertArrayEquals(
                new long[] {36, 1, 3},
                schema.get("backbone.layers.0.mixer.conv1d.weight").shape());
        // per layer: 16 + 16 + 72*16 + 36*3 + 36 + 4 + 4 + 32 + 16*32 = 1880; total 16*16 + 2*1880 + 32 = 4048
        assertEquals(4048, schema.totalParameters());
    }

    @Test
    void flattenAndUnflattenAreInverseAndUnflattenGivesViews() {
        CheckpointSchema schema = CheckpointSchema.of(hybrid());
        Nd4j.getRandom().setSeed(11);
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        for (TensorSpec t : schema.tensors()) {
            tensors.put(t.name(), Nd4j.rand(DataType.FLOAT, t.shape()));
        }
        INDArray flat = schema.flatten(tensors, DataType.DOUBLE);
        assertArrayEquals(new long[] {71160}, flat.shape());
        TensorSpec conv = schema.get("backbone.layers.2.mixer.conv1d.weight");
        INDArray convWeight = tensors.get(conv.name());
        // element [5, 0, 3] of a [80, 1, 4] tensor sits at 5*4 + 3 = 23 past the tensor's offset
        assertEquals(convWeight.getFloat(5, 0, 3), flat.getDouble(conv.offset() + 23), 0.0);

        Map<String, INDArray> views = schema.unflatten(flat);
        assertEquals(schema.names(), List.copyOf(views.keySet()));
        for (TensorSpec t : schema.tensors()) {
            assertEquals(tensors.get(t.name()).castTo(DataType.DOUBLE), views.get(t.name()), t.name());
        }
        views.get("backbone.layers.1.mixer.out_proj.bias").putScalar(2, 42.0);
        assertEquals(
                42.0,
                flat.getDouble(
                        schema.get("backbone.layers.1.mixer.out_proj.bias").offset() + 2),
                0.0);
    }

    @Test
    void checkTensorsNamesTheOffendingTensor() {
        CheckpointSchema schema = CheckpointSchema.of(hybrid());
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        for (TensorSpec t : schema.tensors()) {
            tensors.put(t.name(), Nd4j.zeros(DataType.FLOAT, t.shape()));
        }
        tensors.put("backbone.layers.0.mixer.A_log", Nd4j.zeros(DataType.FLOAT, 5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> schema.checkTensors(tensors));
        assertEquals("tensor 'backbone.layers.0.mixer.A_log' has shape [5] but the config expects [4]", e.getMessage());
        tensors.put("backbone.layers.0.mixer.A_log", Nd4j.zeros(DataType.FLOAT, 4));
        tensors.put("backbone.layers.0.mixer.bogus", Nd4j.zeros(DataType.FLOAT, 2));
        e = assertThrows(IllegalArgumentException.class, () -> schema.checkTensors(tensors));
        assertEquals(
                "unexpected tensor 'backbone.layers.0.mixer.bogus' with shape [2]: the config has no such parameter",
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> schema.unflatten(Nd4j.zeros(DataType.FLOAT, 71159)));
    }
}
