package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/**
 * A fresh Mamba1 layer is initialised as mamba_ssm's Mamba.__init__ and _init_weights do
 * (modules/mamba_simple.py, models/mixer_seq_simple.py), one rule per tensor.
 */
class Mamba1InitTest {

    /** 3 layers (layer 1 attention), d_model 64, d_inner 128, d_state 16, d_conv 4, dt_rank 4 (auto), MLP. */
    private static MambaConfig config(SsmConfig ssm) {
        return MambaConfig.builder()
                .dModel(64)
                .nLayer(3)
                .vocabSize(1000)
                .dIntermediate(100)
                .ssm(ssm)
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder().numHeads(4).build())
                .tieEmbeddings(false)
                .build();
    }

    @Test
    void everyMamba1TensorFollowsMambaSsmsInitialisation() {
        MambaConfig c = config(SsmConfig.mamba1Builder()
                .dtMin(1e-5)
                .dtMax(0.1)
                .dtInitFloor(1e-4)
                .build());
        Map<String, INDArray> t = CheckpointSchema.of(c).unflatten(ModelInit.initialize(c, 7, DataType.DOUBLE));
        double residual = Math.sqrt(2.0 * 3); // n_residuals_per_layer = 2 (MLP), n_layer = 3
        for (int i : new int[] {0, 2}) {
            String p = "backbone.layers." + i + ".mixer.";
            assertUniform(t.get(p + "in_proj.weight"), 1 / Math.sqrt(64)); // nn.Linear: 1/√fan_in
            assertUniform(t.get(p + "conv1d.weight"), 0.5); // nn.Conv1d, groups = channels: 1/√d_conv
            assertUniform(t.get(p + "conv1d.bias"), 0.5);
            assertUniform(t.get(p + "x_proj.weight"), 1 / Math.sqrt(128));
            assertUniform(t.get(p + "dt_proj.weight"), 0.5); // dt_rank^−½ · dt_scale = 4^−½
            assertUniform(t.get(p + "out_proj.weight"), 1 / Math.sqrt(128) / residual); // rescale_prenorm_residual
            INDArray aLog = t.get(p + "A_log");
            assertEquals(List.of(128L, 16L), List.of(aLog.size(0), aLog.size(1)));
            for (int row : new int[] {0, 77, 127}) {
                for (int n = 0; n < 16; n++) {
                    assertEquals(Math.log(n + 1), aLog.getDouble(row, n), 0.0, "A_log[" + row + ", " + n + "]");
                }
            }
            assertConstant(t.get(p + "D"), 1.0);
            // softplus(dt_proj.bias) recovers dt: log-uniform in [1e-5, 0.1], floored at 1e-4
            INDArray dt = Transforms.log(
                    Transforms.exp(t.get(p + "dt_proj.bias"), true).addi(1.0), false);
            int atFloor = 0;
            int belowHundredth = 0;
            for (double v : dt.toDoubleVector()) {
                if (Math.abs(v - 1e-4) < 1e-12) {
                    atFloor++;
                } else {
                    assertTrue(v > 1e-4 && v <= 0.1 * (1 + 1e-12), "dt " + v + " outside (floor, dt_max]");
                    belowHundredth += v < 1e-2 ? 1 : 0;
                }
            }
            // P(dt < floor) = ln(10) / ln(10^4) = 1/4 of 128 channels; P(floor ≤ dt < 0.01) = 1/2
            assertTrue(atFloor >= 16 && atFloor <= 48, atFloor + " of 128 channels at the floor");
            assertTrue(belowHundredth >= 44 && belowHundredth <= 84, belowHundredth + " in [1e-4, 1e-2)");
        }
    }

    @Test
    void constantDtInitBiasesAndDtScale() {
        MambaConfig c = config(SsmConfig.mamba1Builder()
                .dtInit("constant")
                .dtScale(2.0)
                .dtRank(16)
                .bias(true)
                .build());
        Map<String, INDArray> t = CheckpointSchema.of(c).unflatten(ModelInit.initialize(c, 3, DataType.DOUBLE));
        String p = "backbone.layers.0.mixer.";
        assertConstant(t.get(p + "dt_proj.weight"), 0.5); // 16^−½ · 2
        assertConstant(t.get(p + "in_proj.bias"), 0.0); // _init_weights zeroes Linear biases
        assertConstant(t.get(p + "out_proj.bias"), 0.0);
        // random init with dt_scale 2: U(±0.5) for dt_rank 16
        MambaConfig r = config(SsmConfig.mamba1Builder().dtScale(2.0).dtRank(16).build());
        assertUniform(
                CheckpointSchema.of(r)
                        .unflatten(ModelInit.initialize(r, 3, DataType.DOUBLE))
                        .get(p + "dt_proj.weight"),
                0.5);
    }

    /** Within ±bound, spread over it (max |v| above 0.9·bound), with the uniform's std bound/√3 (±15%). */
    private static void assertUniform(INDArray v, double bound) {
        double amax = v.amaxNumber().doubleValue();
        assertTrue(amax <= bound && amax > 0.9 * bound, "max |v| " + amax + " vs bound " + bound);
        double std = v.stdNumber().doubleValue();
        assertEquals(bound / Math.sqrt(3), std, 0.15 * bound / Math.sqrt(3), "std");
    }

    private static void assertConstant(INDArray v, double value) {
        assertEquals(value, v.maxNumber().doubleValue(), 1e-15);
        assertEquals(value, v.minNumber().doubleValue(), 1e-15);
    }
}
