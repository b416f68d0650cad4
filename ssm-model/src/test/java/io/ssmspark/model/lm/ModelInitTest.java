package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

class ModelInitTest {

    /** 4 layers (layer 2 attention), d_model 64, d_inner 128, 32 heads per Mamba2 layer, MLP, untied head. */
    private static MambaConfig config() {
        return MambaConfig.builder()
                .dModel(64)
                .nLayer(4)
                .vocabSize(1000)
                .dIntermediate(100)
                .ssm(SsmConfig.builder()
                        .dState(16)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(2)
                        .chunkSize(16)
                        .dtMin(1e-5)
                        .dtMax(0.1)
                        .dtInitFloor(1e-4)
                        .aInitRange(1, 16)
                        .build())
                .attnLayerIdx(List.of(2))
                .attn(AttnConfig.builder().numHeads(4).build())
                .tieEmbeddings(false)
                .build();
    }

    private static double max(INDArray a) {
        return a.maxNumber().doubleValue();
    }

    private static double min(INDArray a) {
        return a.minNumber().doubleValue();
    }

    @Test
    void sameSeedIsBitwiseReproducibleAndAnotherSeedDiffers() {
        MambaConfig c = config();
        for (DataType dt : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            INDArray a = ModelInit.initialize(c, 42, dt);
            INDArray b = ModelInit.initialize(c, 42, dt);
            assertEquals(dt, a.dataType());
            assertEquals(CheckpointSchema.of(c).totalParameters(), a.length());
            assertTrue(a.equals(b), "same seed must give the same vector");
            assertEquals(
                    0.0,
                    a.castTo(DataType.DOUBLE)
                            .sub(b.castTo(DataType.DOUBLE))
                            .amaxNumber()
                            .doubleValue(),
                    0.0);
            assertNotEquals(a, ModelInit.initialize(c, 43, dt));
        }
    }

    @Test
    void everyTensorFollowsMambaSsmInitialisation() {
        MambaConfig c = config();
        Map<String, INDArray> t = CheckpointSchema.of(c).unflatten(ModelInit.initialize(c, 7, DataType.DOUBLE));

        INDArray emb = t.get(CheckpointSchema.EMBEDDING);
        assertEquals(0.02, emb.stdNumber().doubleValue(), 0.02 * 0.03); // 64 000 draws
        assertEquals(0.0, emb.meanNumber().doubleValue(), 5e-4);

        double residual = Math.sqrt(2.0 * 4); // n_residuals_per_layer = 2 (MLP), n_layer = 4
        for (int i = 0; i < 4; i++) {
            String p = "backbone.layers." + i + ".";
            assertUniform(t.get(p + "mixer.out_proj.weight"), 1 / Math.sqrt(i == 2 ? 64 : 128) / residual);
            assertUniform(t.get(p + "mlp.fc2.weight"), 1 / Math.sqrt(128) / residual);
            assertUniform(t.get(p + "mlp.fc1.weight"), 1 / Math.sqrt(64));
            assertUniform(t.get(p + "mixer.in_proj.weight"), 1 / Math.sqrt(64));
            assertConstant(t.get(p + "norm.weight"), 1.0);
            assertConstant(t.get(p + "norm2.weight"), 1.0);
            if (i == 2) {
                assertConstant(t.get(p + "mixer.in_proj.bias"), 0.0);
                assertConstant(t.get(p + "mixer.out_proj.bias"), 0.0);
                continue;
            }
            assertUniform(t.get(p + "mixer.conv1d.weight"), 0.5); // 1/√K, K = 4
            assertUniform(t.get(p + "mixer.conv1d.bias"), 0.5);
            assertConstant(t.get(p + "mixer.D"), 1.0);
            assertConstant(t.get(p + "mixer.norm.weight"), 1.0);
            INDArray a = Transforms.exp(t.get(p + "mixer.A_log"), true);
            assertTrue(min(a) >= 1 && max(a) <= 16 && max(a) - min(a) > 10, "A in [1, 16]: " + a);
            // softplus(dt_bias) recovers dt: log-uniform in [1e-5, 0.1], floored at 1e-4
            INDArray dt = Transforms.log(
                    Transforms.exp(t.get(p + "mixer.dt_bias"), true).addi(1.0), false);
            double floor = 1e-4;
            int atFloor = 0;
            for (double v : dt.toDoubleVector()) {
                if (Math.abs(v - floor) < 1e-12) {
                    atFloor++;
                } else {
                    assertTrue(v > floor && v <= 0.1 * (1 + 1e-12), "dt " + v + " outside (floor, dt_max]");
                }
            }
            // P(dt < floor) = ln(1e-4/1e-5) / ln(0.1/1e-5) = 1/4 of the 32 heads
            assertTrue(atFloor >= 2 && atFloor <= 16, atFloor + " of 32 heads at the floor");
        }
        assertConstant(t.get("backbone.norm_f.weight"), 1.0);
        assertUniform(t.get(CheckpointSchema.LM_HEAD), 1 / Math.sqrt(64));
    }

    @Test
    void convInitAndLayerNormBias() {
        MambaConfig c = config().toBuilder()
                .rmsNorm(false)
                .ssm(config().ssm().toBuilder().convInit(0.05).build())
                .build();
        Map<String, INDArray> t = CheckpointSchema.of(c).unflatten(ModelInit.initialize(c, 1, DataType.FLOAT));
        assertUniform(t.get("backbone.layers.0.mixer.conv1d.weight").castTo(DataType.DOUBLE), 0.05);
        assertUniform(t.get("backbone.layers.0.mixer.conv1d.bias").castTo(DataType.DOUBLE), 0.5);
        assertConstant(t.get("backbone.layers.1.norm.bias").castTo(DataType.DOUBLE), 0.0);
        assertConstant(t.get("backbone.norm_f.bias").castTo(DataType.DOUBLE), 0.0);
        assertThrows(IllegalArgumentException.class, () -> ModelInit.initialize(c, 1, DataType.HALF));
    }

    /** Within ±bound, spread over it (max |v| above 0.9·bound), with the uniform's std bound/√3 (±15%). */
    private static void assertUniform(INDArray v, double bound) {
        double amax = v.amaxNumber().doubleValue();
        assertTrue(amax <= bound && amax > 0.9 * bound, "max |v| " + amax + " vs bound " + bound);
        double std = v.stdNumber().doubleValue();
        assertEquals(bound / Math.sqrt(3), std, 0.15 * bound / Math.sqrt(3), "std");
    }

    private static void assertConstant(INDArray v, double value) {
        assertEquals(value, max(v), 0.0);
        assertEquals(value, min(v), 0.0);
    }
}
