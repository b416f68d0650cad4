package io.ssmspark.model.lm;

import static io.ssmspark.model.testing.FiniteDifferences.dot;
import static io.ssmspark.model.testing.FiniteDifferences.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.layers.CausalDepthwiseConv1d;
import io.ssmspark.model.mixer.Mamba2Mixer;
import io.ssmspark.model.ssd.SsdReference;
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

class Mamba2MixerTest {

    /** d_model 6, d_inner 12, headdim 3 → 4 heads, 2 groups of d_state 3, conv kernel 3, chunk 3. */
    static Mamba2Mixer.Spec spec(boolean rmsnorm, boolean normBeforeGate) {
        return new Mamba2Mixer.Spec(6, 12, 4, 3, 2, 3, 3, 3, rmsnorm, normBeforeGate);
    }

    static Mamba2Mixer.Weights weights(Mamba2Mixer.Spec s, boolean dPerChannel, Random rnd) {
        INDArray aLog = Nd4j.create(new double[] {0.1, 0.6, 1.0, 1.3}).reshape(s.heads());
        INDArray dtBias = randn(rnd, 0.5, s.heads()).subi(1.0);
        return new Mamba2Mixer.Weights(
                randn(rnd, 0.4, s.inProjDim(), s.dModel()),
                randn(rnd, 0.5, s.convDim(), s.convKernel()),
                randn(rnd, 0.2, s.convDim()),
                dtBias,
                aLog,
                randn(rnd, 0.5, dPerChannel ? s.dInner() : s.heads()),
                s.rmsnorm() ? randn(rnd, 0.3, s.dInner()).addi(1.0) : null,
                randn(rnd, 0.4, s.dModel(), s.dInner()));
    }

    static Mamba2Mixer.Weights zerosLike(Mamba2Mixer.Weights w) {
        return new Mamba2Mixer.Weights(
                w.inProj().ulike().assign(0),
                w.convWeight().ulike().assign(0),
                w.convBias().ulike().assign(0),
                w.dtBias().ulike().assign(0),
                w.aLog().ulike().assign(0),
                w.d().ulike().assign(0),
                w.normWeight() == null ? null : w.normWeight().ulike().assign(0),
                w.outProj().ulike().assign(0));
    }

    @ParameterizedTest(name = "rmsnorm={0} normBeforeGate={1} D per channel={2}")
    @CsvSource({"true,false,false", "true,true,true", "false,false,true"})
    void gradientsMatchFiniteDifferences(boolean rmsnorm, boolean normBeforeGate, boolean dPerChannel) {
        Random rnd = new Random(7);
        Mamba2Mixer.Spec s = spec(rmsnorm, normBeforeGate);
        Mamba2Mixer.Weights w = weights(s, dPerChannel, rnd);
        int b = 2;
        int t = 7; // not a multiple of the chunk (3)
        INDArray x = randn(rnd, 1.0, b, t, s.dModel());
        INDArray prev = randn(rnd, 1.0, b, s.convKernel() - 1, s.convDim());
        INDArray state = randn(rnd, 0.5, b, s.heads(), s.headDim(), s.dState());
        Mamba2Mixer.Carry carryIn = new Mamba2Mixer.Carry(prev, state);
        // L = Σ out∘R + Σ convRowsOut∘Rc + Σ stateOut∘Rs: exercises dOut and both carry-out gradients
        INDArray r = randn(rnd, 1.0, b, t, s.dModel());
        INDArray rc = randn(rnd, 1.0, b, s.convKernel() - 1, s.convDim());
        INDArray rs = randn(rnd, 1.0, b, s.heads(), s.headDim(), s.dState());
        java.util.function.DoubleSupplier loss = () -> {
            Mamba2Mixer.Output o = Mamba2Mixer.forward(x, w, s, carryIn);
            return dot(o.out(), r)
                    + dot(o.carryOut().convRows(), rc)
                    + dot(o.carryOut().ssmState(), rs);
        };
        Mamba2Mixer.Output fwd = Mamba2Mixer.forward(x, w, s, carryIn);
        Mamba2Mixer.Weights g = zerosLike(w);
        Mamba2Mixer.Gradients grads = Mamba2Mixer.backward(x, w, s, fwd, r, new Mamba2Mixer.Carry(rc, rs), g);

        Map<String, INDArray[]> checks = new LinkedHashMap<>();
        checks.put("x", new INDArray[] {x, grads.dx()});
        checks.put("carry convRows", new INDArray[] {prev, grads.dCarryIn().convRows()});
        checks.put("carry ssmState", new INDArray[] {state, grads.dCarryIn().ssmState()});
        checks.put("in_proj", new INDArray[] {w.inProj(), g.inProj()});
        checks.put("conv weight", new INDArray[] {w.convWeight(), g.convWeight()});
        checks.put("conv bias", new INDArray[] {w.convBias(), g.convBias()});
        checks.put("dt_bias", new INDArray[] {w.dtBias(), g.dtBias()});
        checks.put("A_log", new INDArray[] {w.aLog(), g.aLog()});
        checks.put("D", new INDArray[] {w.d(), g.d()});
        if (rmsnorm) {
            checks.put("norm weight", new INDArray[] {w.normWeight(), g.normWeight()});
        }
        checks.put("out_proj", new INDArray[] {w.outProj(), g.outProj()});
        Random pick = new Random(3);
        for (Map.Entry<String, INDArray[]> e : checks.entrySet()) {
            INDArray p = e.getValue()[0];
            FiniteDifferences.check(
                    e.getKey(), p, e.getValue()[1], FiniteDifferences.entries(p.length(), 16, pick), loss, 1e-6);
        }
    }

    /** The forward against a plain restatement: in_proj split, conv, silu, softplus, the SSD recurrence, gate. */
    @Test
    void forwardMatchesAStepByStepReference() {
        Random rnd = new Random(11);
        Mamba2Mixer.Spec s = spec(true, false);
        Mamba2Mixer.Weights w = weights(s, false, rnd);
        int b = 2;
        int t = 5;
        INDArray x = randn(rnd, 1.0, b, t, s.dModel());
        INDArray out = Mamba2Mixer.forward(x, w, s, null).out();

        INDArray proj = x.reshape(b * t, s.dModel()).mmul(w.inProj().transpose());
        int di = s.dInner();
        int cd = s.convDim();
        INDArray z = proj.get(all(), interval(0, di));
        INDArray xbc = proj.get(all(), interval(di, di + cd)).dup().reshape(b, t, cd);
        INDArray dtRaw =
                proj.get(all(), interval(di + cd, di + cd + s.heads())).dup().reshape(b, t, s.heads());
        INDArray conv = Nd4j.zeros(DataType.DOUBLE, b, t, cd);
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int c = 0; c < cd; c++) {
                    double v = w.convBias().getDouble(c);
                    for (int k = 0; k < s.convKernel(); k++) {
                        int src = ti - (s.convKernel() - 1) + k; // w[c, K−1] multiplies the current token
                        if (src >= 0) {
                            v += w.convWeight().getDouble(c, k) * xbc.getDouble(bi, src, c);
                        }
                    }
                    conv.putScalar(new long[] {bi, ti, c}, v);
                }
            }
        }
        INDArray act = Transforms.sigmoid(conv, true).muli(conv);
        int gn = s.groups() * s.dState();
        INDArray xs = act.get(all(), all(), interval(0, di)).dup().reshape(b, t, s.heads(), s.headDim());
        INDArray bs = act.get(all(), all(), interval(di, di + gn)).dup().reshape(b, t, s.groups(), s.dState());
        INDArray cs = act.get(all(), all(), interval(di + gn, cd)).dup().reshape(b, t, s.groups(), s.dState());
        INDArray dt = Transforms.log(
                Transforms.exp(
                                dtRaw.reshape(b * t, s.heads())
                                        .addRowVector(w.dtBias())
                                        .reshape(b, t, s.heads()),
                                true)
                        .addi(1.0),
                false);
        INDArray a = Transforms.exp(w.aLog(), true).negi();
        INDArray y = SsdReference.recurrence(new io.ssmspark.model.ssd.SsdInputs(xs, dt, a, bs, cs, w.d()), null)
                .y()
                .reshape(b * t, di);
        // gated group RMSNorm: u = y·silu(z), normalised per group of d_inner/G = 6 channels, eps 1e-5
        INDArray u = y.mul(Transforms.sigmoid(z, true).muli(z));
        INDArray normed = Nd4j.zeros(DataType.DOUBLE, b * t, di);
        int gs = di / s.groups();
        for (int g = 0; g < s.groups(); g++) {
            INDArray part = u.get(all(), interval(g * gs, (g + 1) * gs));
            INDArray rstd = Transforms.pow(part.mul(part).mean(true, 1).addi(1e-5), -0.5, false);
            normed.get(all(), interval(g * gs, (g + 1) * gs)).assign(part.mulColumnVector(rstd));
        }
        INDArray expected = normed.mulRowVector(w.normWeight())
                .mmul(w.outProj().transpose())
                .reshape(b, t, s.dModel());
        double err = expected.sub(out).norm2Number().doubleValue()
                / expected.norm2Number().doubleValue();
        assertTrue(err < 1e-12, "relative error " + err);
    }

    @Test
    void twoPartsWithCarriesEqualOneRun() {
        Random rnd = new Random(5);
        Mamba2Mixer.Spec s = spec(true, false);
        Mamba2Mixer.Weights w = weights(s, false, rnd);
        INDArray x = randn(rnd, 1.0, 2, 8, s.dModel());
        Mamba2Mixer.Output whole = Mamba2Mixer.forward(x, w, s, null);
        for (int split : new int[] {1, 4, 7}) {
            Mamba2Mixer.Output first =
                    Mamba2Mixer.forward(x.get(all(), interval(0, split), all()).dup(), w, s, null);
            Mamba2Mixer.Output second =
                    Mamba2Mixer.forward(x.get(all(), interval(split, 8), all()).dup(), w, s, first.carryOut());
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
     * last pre-conv rows, then finished with the first part's final state, equals one run over both parts; the
     * summary (α, E) moves the first part's state to the second's. Both norm placements and no norm.
     */
    @ParameterizedTest(name = "rmsnorm={0} normBeforeGate={1}")
    @CsvSource({"true,false", "true,true", "false,false"})
    void zeroStatePartFinishedWithTheTrueStateEqualsOneRun(boolean rmsnorm, boolean normBeforeGate) {
        Random rnd = new Random(9);
        Mamba2Mixer.Spec s = spec(rmsnorm, normBeforeGate);
        Mamba2Mixer.Weights w = weights(s, true, rnd);
        INDArray x = randn(rnd, 1.0, 2, 9, s.dModel());
        Mamba2Mixer.Output whole = Mamba2Mixer.forward(x, w, s, null);
        for (int split : new int[] {1, 2, 5}) {
            INDArray head = x.get(all(), interval(0, split), all()).dup();
            INDArray tail = x.get(all(), interval(split, 9), all()).dup();
            Mamba2Mixer.Output first = Mamba2Mixer.forward(head, w, s, null);
            // the conv rows the tail needs: the last K−1 pre-conv rows, zero-padded at the sequence start
            INDArray headRows = Mamba2Mixer.preConvRows(head, w, s);
            INDArray rows = CausalDepthwiseConv1d.carryRows(null, headRows, s.convKernel());
            assertEquals(0, rows.sub(first.carryOut().convRows()).amaxNumber().doubleValue(), 1e-13);

            Mamba2Mixer.ZeroStatePart part = Mamba2Mixer.fromZeroState(tail, w, s, rows);
            INDArray out = Mamba2Mixer.finish(part, w, s, first.carryOut().ssmState());
            INDArray joined = Nd4j.concat(1, first.out(), out);
            assertEquals(0, whole.out().sub(joined).amaxNumber().doubleValue(), 1e-12, "split at " + split);
            INDArray moved = part.summary().apply(first.carryOut().ssmState());
            assertEquals(0, whole.carryOut().ssmState().sub(moved).amaxNumber().doubleValue(), 1e-12);
            // without the correction the tail differs: the term is not vacuous (finish spent the first part)
            INDArray uncorrected = Mamba2Mixer.finish(Mamba2Mixer.fromZeroState(tail, w, s, rows), w, s, null);
            assertTrue(uncorrected.sub(out).amaxNumber().doubleValue() > 1e-3);
        }
    }

    @Test
    void refusesMisshapedWeightsByName() {
        Random rnd = new Random(1);
        Mamba2Mixer.Spec s = spec(true, false);
        Mamba2Mixer.Weights w = weights(s, false, rnd);
        Mamba2Mixer.Weights bad = new Mamba2Mixer.Weights(
                w.inProj(),
                w.convWeight(),
                w.convBias(),
                randn(rnd, 1, 5),
                w.aLog(),
                w.d(),
                w.normWeight(),
                w.outProj());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Mamba2Mixer.forward(randn(rnd, 1, 1, 2, 6), bad, s, null));
        assertEquals("tensor 'dt_bias': expected shape [4] but found [5]", e.getMessage());
    }
}
