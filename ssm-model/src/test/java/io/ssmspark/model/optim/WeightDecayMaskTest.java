package io.ssmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.TensorSpec;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class WeightDecayMaskTest {
    /** d_model 32, 3 layers (layer 1 attention with q/kv and out biases), MLP 128, vocab 256, untied. */
    static MambaConfig hybrid(boolean rmsNorm) {
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
                .rmsNorm(rmsNorm)
                .tieEmbeddings(false)
                .build();
    }

    /** By name alone, independent of the schema's flags: mamba_ssm's no-decay group. */
    static boolean decays(String name) {
        return !(name.endsWith(".bias")
                || name.endsWith(".A_log")
                || name.endsWith(".D")
                || name.endsWith(".dt_bias")
                || name.endsWith("norm.weight")
                || name.endsWith("norm2.weight")
                || name.endsWith("norm_f.weight"));
    }

    @Test
    void zeroExactlyOnALogDDtBiasNormsAndBiases() {
        for (boolean rms : new boolean[] {true, false}) {
            CheckpointSchema schema = CheckpointSchema.of(hybrid(rms));
            for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
                INDArray mask = WeightDecayMask.of(schema, type);
                assertEquals(type, mask.dataType());
                assertEquals(schema.totalParameters(), mask.length());
                int noDecayTensors = 0;
                for (TensorSpec t : schema.tensors()) {
                    INDArray slice = mask.get(NDArrayIndex.interval(t.offset(), t.offset() + t.size()));
                    double want = decays(t.name()) ? 1.0 : 0.0;
                    assertEquals(want, slice.minNumber().doubleValue(), 0.0, t.name());
                    assertEquals(want, slice.maxNumber().doubleValue(), 0.0, t.name());
                    noDecayTensors += want == 0 ? 1 : 0;
                }
                // Hand count. Decayed: embedding 8192 + head 8192 + two Mamba2 layers (in_proj 4736, conv 320,
                // out_proj 2048) + attention (in_proj 2048, out_proj 1024) + three MLPs (8192 + 4096) = 70528.
                assertEquals(70528.0, mask.sumNumber().doubleValue(), 0.0, "rms " + rms);
                // No decay: 7 norms (3 norm, 3 norm2, norm_f), 2 x (conv bias, dt_bias, A_log, D, mixer norm),
                // 2 attention biases, and with LayerNorm 7 norm biases more.
                assertEquals(rms ? 19 : 26, noDecayTensors);
                assertEquals(rms ? 632 : 856, schema.totalParameters() - 70528);
            }
        }
    }

    @Test
    void adamWBuiltFromASchemaUsesItsMask() {
        CheckpointSchema schema = CheckpointSchema.of(hybrid(true));
        AdamW adamw = new AdamW(schema, DataType.FLOAT, AdamWSettings.defaults());
        assertEquals(schema.totalParameters(), adamw.size());
        assertEquals(WeightDecayMask.of(schema, DataType.FLOAT), adamw.decayMask());
    }

    @Test
    void aSliceEqualsThoseEntriesOfTheWholeMask() {
        CheckpointSchema schema = CheckpointSchema.of(hybrid(true));
        INDArray whole = WeightDecayMask.of(schema, DataType.FLOAT);
        long n = schema.totalParameters();
        long[][] slices = {{0, n}, {0, 1}, {n - 1, n}, {5, 5}, {17, n / 3}, {n / 3, 2 * n / 3 + 7}};
        for (long[] s : slices) {
            INDArray slice = WeightDecayMask.slice(schema, DataType.FLOAT, s[0], s[1]);
            assertEquals(s[1] - s[0], slice.length());
            if (s[1] > s[0]) {
                assertEquals(whole.get(NDArrayIndex.interval(s[0], s[1])), slice, "[" + s[0] + ", " + s[1] + ")");
            }
        }
    }
}
