package io.ssmspark.model.lm;

import static io.ssmspark.model.testing.FiniteDifferences.dot;
import static io.ssmspark.model.testing.FiniteDifferences.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.layers.CausalDepthwiseConv1d;
import io.ssmspark.model.mixer.Mamba1Mixer;
import io.ssmspark.model.scan.ScanInputs;
import io.ssmspark.model.scan.ScanReference;
import io.ssmspark.model.testing.FiniteDifferences;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

class Mamba1MixerTest {

    /** d_model 6, d_inner 8, dt_rank 3, d_state 3, conv kernel 3, scan chunk 3 (windows of 7 are not a multiple). */
    static Mamba1Mixer.Spec spec(boolean convBias, boolean bias) {
        return new Mamba1Mixer.Spec(6, 8, 3, 3, 3, convBias, bias, 3);
    }

    static Mamba1Mixer.Weights weights(Mamba1Mixer.Spec s, Random rnd) {
        int di = s.dInner();
        // A_log spread so that the decays differ per (channel, state); dt_proj.bias around softplus⁻¹(0.3)
        INDArray aLog = randn(rnd, 0.6, di, s.dState());
        return new Mamba1Mixer.Weights(
                randn(rnd, 0.4, 2 * di, s.dModel()),
                s.bias() ? randn(rnd, 0.2, 2 * di) : null,
                randn(rnd, 0.5, di, s.convKernel()),
                s.convBias() ? randn(rnd, 0.2, di) : null,
                randn(rnd, 0.4, s.xProjDim(), di),
                randn(rnd, 0.5, di, s.dtRank()),
                randn(rnd, 0.5, di).subi(1.0),
                aLog,
                randn(rnd, 0.5, di),
                randn(rnd, 0.4, s.dModel(), di),
                s.bias() ? randn(rnd, 0.2, s.dModel()) : null);
    }

    static Mamba1Mixer.Weights zerosLike(Mamba1Mixer.Weights w) {
        return new Mamba1Mixer.Weights(
                zeros(w.inProj()),
                zeros(w.inProjBias()),
                zeros(w.convWeight()),
                zeros(w.convBias()),
                zeros(w.xProj()),
                zeros(w.dtProjWeight()),
                zeros(w.dtProjBias()),
                zeros(w.aLog()),
                zeros(w.d()),
                zeros(w.outProj()),
                zeros(w.outProjBias()));
    }

    private static INDArray zeros(INDArray a) {
        return a == null ? null : a.ulike().assign(0);
    }

    /** fp64 central differences (≤ 1e-6 relative) for the input, every parameter and both carries in and out. */
    @ParameterizedTest(name = "conv_bias={0} bias={1}")
    @CsvSource({"true,false", "false,true"})
    void gradientsMatchFiniteDifferences(boolean convBias, boolean bias) {
        Random rnd = new Random(7);
        Mamba1Mixer.Spec s = spec(convBias, bias);
        Mamba1Mixer.Weights w = weights(s, rnd);
        int b = 2;
        int t = 7;
        INDArray x = randn(rnd, 1.0, b, t, s.dModel());
        INDArray prev = randn(rnd, 1.0, b, s.convKernel() - 1, s.dInner());
        INDArray state = randn(rnd, 0.5, b, s.dInner(), s.dState());
        Mamba1Mixer.Carry carryIn = new Mamba1Mixer.Carry(prev, state);
        // L = Σ out∘R + Σ convRowsOut∘Rc + Σ stateOut∘Rs: exercises dOut and both carry-out gradients
        INDArray r = randn(rnd, 1.0, b, t, s.dModel());
        INDArray rc = randn(rnd, 1.0, b, s.convKernel() - 1, s.dInner());
        INDArray rs = randn(rnd, 1.0, b, s.dInner(), s.dState());
        java.util.function.DoubleSupplier loss = () -> {
            Mamba1Mixer.Output o = Mamba1Mixer.forward(x, w, s, carryIn);
            return dot(o.out(), r)
                    + dot(o.carryOut().convRows(), rc)
                    + dot(o.carryOut().ssmState(), rs);
        };
        Mamba1Mixer.Output fwd = Mamba1Mixer.forward(x, w, s, carryIn);
        Mamba1Mixer.Weights g = zerosLike(w);
        Mamba1Mixer.Gradients grads = Mamba1Mixer.backward(x, w, s, fwd, r, new Mamba1Mixer.Carry(rc, rs), g);

        Map<String, INDArray[]> checks = new LinkedHashMap<>();
        checks.put("x", new INDArray[] {x, grads.dx()});
        checks.put("carry convRows", new INDArray[] {prev, grads.dCarryIn().convRows()});
        checks.put("carry ssmState", new INDArray[] {state, grads.dCarryIn().ssmState()});
        checks.put("in_proj.weight", new INDArray[] {w.inProj(), g.inProj()});
        if (bias) {
            checks.put("in_proj.bias", new INDArray[] {w.inProjBias(), g.inProjBias()});
            checks.put("out_proj.bias", new INDArray[] {w.outProjBias(), g.outProjBias()});
        }
        checks.put("conv1d.weight", new INDArray[] {w.convWeight(), g.convWeight()});
        if (convBias) {
            checks.put("conv1d.bias", new INDArray[] {w.convBias(), g.convBias()});
        }
        checks.put("x_proj.weight", new INDArray[] {w.xProj(), g.xProj()});
        checks.put("dt_proj.weight", new INDArray[] {w.dtProjWeight(), g.dtProjWeight()});
        checks.put("dt_proj.bias", new INDArray[] {w.dtProjBias(), g.dtProjBias()});
        checks.put("A_log", new INDArray[] {w.aLog(), g.aLog()});
        checks.put("D", new INDArray[] {w.d(), g.d()});
        checks.put("out_proj.weight", new INDArray[] {w.outProj(), g.outProj()});
        Random pick = new Random(3);
        for (Map.Entry<String, INDArray[]> e : checks.entrySet()) {
            INDArray p = e.getValue()[0];
            FiniteDifferences.check(
                    e.getKey(), p, e.getValue()[1], FiniteDifferences.entries(p.length(), 24, pick), loss, 1e-6);
        }
    }

    /**
     * The forward against a plain restatement of mamba_ssm's Mamba.forward (slow path): in_proj split into x and z,
     * the conv1d loop, silu, x_proj split [dt_rank, d_state, d_state], softplus(dt_proj(dt) + bias), the sequential
     * selective_scan_ref loop, y·silu(z), out_proj.
     */
    @Test
    void forwardMatchesAStepByStepReference() {
        Random rnd = new Random(11);
        Mamba1Mixer.Spec s = spec(true, true);
        Mamba1Mixer.Weights w = weights(s, rnd);
        int b = 2;
        int t = 5;
        int di = s.dInner();
        int r = s.dtRank();
        int n = s.dState();
        INDArray x = randn(rnd, 1.0, b, t, s.dModel());
        INDArray out = Mamba1Mixer.forward(x, w, s, null).out();

        INDArray xz = x.reshape(b * t, s.dModel()).mmul(w.inProj().transpose()).addRowVector(w.inProjBias());
        INDArray xs = xz.get(all(), interval(0, di)).dup().reshape(b, t, di);
        INDArray z = xz.get(all(), interval(di, 2 * di)).dup();
        INDArray conv = Nd4j.zeros(DataType.DOUBLE, b, t, di);
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int c = 0; c < di; c++) {
                    double v = w.convBias().getDouble(c);
                    for (int k = 0; k < s.convKernel(); k++) {
                        int src = ti - (s.convKernel() - 1) + k; // weight[c, 0, K−1] multiplies the current token
                        if (src >= 0) {
                            v += w.convWeight().getDouble(c, k) * xs.getDouble(bi, src, c);
                        }
                    }
                    conv.putScalar(new long[] {bi, ti, c}, v);
                }
            }
        }
        INDArray act = Transforms.sigmoid(conv, true).muli(conv);
        INDArray xdbl = act.reshape(b * t, di).mmul(w.xProj().transpose());
        INDArray dtLow = xdbl.get(all(), interval(0, r)).dup();
        INDArray bs = xdbl.get(all(), interval(r, r + n)).dup().reshape(b, t, n);
        INDArray cs = xdbl.get(all(), interval(r + n, r + 2 * n)).dup().reshape(b, t, n);
        INDArray dtPre = dtLow.mmul(w.dtProjWeight().transpose()).addRowVector(w.dtProjBias());
        INDArray dt =
                Transforms.log(Transforms.exp(dtPre, true).addi(1.0), false).reshape(b, t, di);
        INDArray a = Transforms.exp(w.aLog(), true).negi();
        INDArray y = ScanReference.forward(new ScanInputs(act, dt, a, bs, cs, w.d()), null)
                .y()
                .reshape(b * t, di);
        INDArray expected = y.mul(Transforms.sigmoid(z, true).muli(z))
                .mmul(w.outProj().transpose())
                .addRowVector(w.outProjBias())
                .reshape(b, t, s.dModel());
        double err = expected.sub(out).norm2Number().doubleValue()
                / expected.norm2Number().doubleValue();
        assertTrue(err < 1e-12, "relative error " + err);
    }

    @Test
    void twoPartsWithCarriesEqualOneRun() {
        Random rnd = new Random(5);
        Mamba1Mixer.Spec s = spec(true, false);
        Mamba1Mixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 2, 8, s.dModel());
        Mamba1Mixer.Output whole = Mamba1Mixer.forward(x, w, s, null);
        for (int split : new int[] {1, 4, 7}) {
            Mamba1Mixer.Output first =
                    Mamba1Mixer.forward(x.get(all(), interval(0, split), all()).dup(), w, s, null);
            Mamba1Mixer.Output second =
                    Mamba1Mixer.forward(x.get(all(), interval(split, 8), all()).dup(), w, s, first.carryOut());
            INDArray joined = Nd4j.concat(1, first.out(), second.out());
            assertEquals(0, whole.out().sub(joined).amaxNumber().doubleValue(), 1e-12, "split at " + split);
            assertEquals(
                    0,
                    whole.carryOut()
                            .ssmState()
                            .sub(second.carryOut().ssmState())
                            .amaxNumber()
                            .doubleValue(),
                    1e-12);
            assertEquals(
                    0,
                    whole.carryOut()
                            .convRows()
                            .sub(second.carryOut().convRows())
                            .amaxNumber()
                            .doubleValue(),
                    0.0);
        }
    }

    /**
     * The split used for sequence-parallel scoring: the second part run from a zero SSM state with the first part's
     * last pre-conv rows, then finished with the first part's final state, equals one run over both parts, and the
     * summary (α, E) moves the first part's state to the second's.
     */
    @Test
    void zeroStatePartFinishedWithTheTrueStateEqualsOneRun() {
        Random rnd = new Random(9);
        Mamba1Mixer.Spec s = spec(true, true);
        Mamba1Mixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 2, 9, s.dModel());
        Mamba1Mixer.Output whole = Mamba1Mixer.forward(x, w, s, null);
        for (int split : new int[] {1, 2, 5}) {
            INDArray head = x.get(all(), interval(0, split), all()).dup();
            INDArray tail = x.get(all(), interval(split, 9), all()).dup();
            Mamba1Mixer.Output first = Mamba1Mixer.forward(head, w, s, null);
            INDArray rows = CausalDepthwiseConv1d.carryRows(null, Mamba1Mixer.preConvRows(head, w, s), s.convKernel());
            assertEquals(0, rows.sub(first.carryOut().convRows()).amaxNumber().doubleValue(), 1e-13);

            Mamba1Mixer.ZeroStatePart part = Mamba1Mixer.fromZeroState(tail, w, s, rows);
            INDArray moved = part.summary().apply(first.carryOut().ssmState());
            INDArray out = Mamba1Mixer.finish(part, w, s, first.carryOut().ssmState());
            assertEquals(
                    0,
                    whole.out()
                            .sub(Nd4j.concat(1, first.out(), out))
                            .amaxNumber()
                            .doubleValue(),
                    1e-12,
                    "split at " + split);
            assertEquals(0, whole.carryOut().ssmState().sub(moved).amaxNumber().doubleValue(), 1e-12);
            INDArray uncorrected = Mamba1Mixer.finish(Mamba1Mixer.fromZeroState(tail, w, s, rows), w, s, null);
            assertTrue(uncorrected.sub(out).amaxNumber().doubleValue() > 1e-3, "the initial-state term matters");
        }
    }

    @Test
    void stepsEqualTheWindow() {
        Random rnd = new Random(13);
        Mamba1Mixer.Spec s = spec(true, true);
        Mamba1Mixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 2, 6, s.dModel());
        Mamba1Mixer.Output whole = Mamba1Mixer.forward(x, w, s, null);
        INDArray rows = Nd4j.zeros(DataType.DOUBLE, 2, s.convKernel() - 1, s.dInner());
        INDArray state = Nd4j.zeros(DataType.DOUBLE, 2, s.dInner(), s.dState());
        for (int t = 0; t < 6; t++) {
            INDArray o = Mamba1Mixer.step(
                    x.get(all(), interval(t, t + 1), all()).dup().reshape(2, s.dModel()), w, s, rows, state);
            INDArray expected =
                    whole.out().get(all(), interval(t, t + 1), all()).reshape(2, s.dModel());
            assertEquals(0, expected.sub(o).amaxNumber().doubleValue(), 1e-12, "token " + t);
        }
        assertEquals(0, whole.carryOut().ssmState().sub(state).amaxNumber().doubleValue(), 1e-12);
        assertEquals(0, whole.carryOut().convRows().sub(rows).amaxNumber().doubleValue(), 1e-13);
    }

    @Test
    void refusesMisshapedOrMissingWeightsByName() {
        Random rnd = new Random(1);
        Mamba1Mixer.Spec s = spec(true, false);
        Mamba1Mixer.Weights w = weights(s, rnd);
        Mamba1Mixer.Weights bad = new Mamba1Mixer.Weights(
                w.inProj(),
                null,
                w.convWeight(),
                w.convBias(),
                w.xProj(),
                randn(rnd, 1, 8, 2),
                w.dtProjBias(),
                w.aLog(),
                w.d(),
                w.outProj(),
                null);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Mamba1Mixer.forward(randn(rnd, 1, 1, 2, 6), bad, s, null));
        assertEquals("tensor 'dt_proj.weight': expected shape [8, 3] but found [8, 2]", e.getMessage());
        Mamba1Mixer.Weights noConvBias = new Mamba1Mixer.Weights(
                w.inProj(),
                null,
                w.convWeight(),
                null,
                w.xProj(),
                w.dtProjWeight(),
                w.dtProjBias(),
                w.aLog(),
                w.d(),
                w.outProj(),
                null);
        e = assertThrows(
                IllegalArgumentException.class, () -> Mamba1Mixer.forward(randn(rnd, 1, 1, 2, 6), noConvBias, s, null));
        assertEquals("tensor 'conv1d.bias' is required but was null (expected shape [8])", e.getMessage());
    }
}
