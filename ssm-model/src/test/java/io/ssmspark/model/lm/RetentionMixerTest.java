package io.ssmspark.model.lm;

import static io.ssmspark.model.testing.FiniteDifferences.dot;
import static io.ssmspark.model.testing.FiniteDifferences.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.mixer.MixerParameter;
import io.ssmspark.model.mixer.Mixers;
import io.ssmspark.model.mixer.RetentionMixer;
import io.ssmspark.model.mixer.RetentionReference;
import io.ssmspark.model.ssd.SsdResult;
import io.ssmspark.model.testing.FiniteDifferences;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * RetNet retention (ssm_cfg.layer "RetNet"): the fixed decays γ_h = 1 − 2^(−5−h); the parallel form (the fp64
 * reference), the recurrent form (the reference loop and the decoding step) and the chunked SSD kernel agree, with
 * and without an initial state, for T shorter than, equal to and not a multiple of the chunk; the mixer equals a
 * restatement with plain ops; fp64 finite differences of the mixer (input, every parameter, carry state in and out)
 * with and without the group norm and the gate; carries, segments and the family's parameters.
 */
class RetentionMixerTest {
    private static final double FP64_TOL = 1e-10;
    private static final double FP32_TOL = 1e-4;

    /** d_model 6, 3 heads of d_k 2 and d_v 4 (value_factor 2), chunk 3. */
    static RetentionMixer.Spec spec(boolean groupNorm, boolean gate) {
        return new RetentionMixer.Spec(6, 3, 2, 4, 3, groupNorm, gate, 1e-6);
    }

    static RetentionMixer.Weights weights(RetentionMixer.Spec s, Random rnd) {
        return new RetentionMixer.Weights(
                randn(rnd, 0.5, s.qkWidth(), s.dModel()),
                randn(rnd, 0.5, s.qkWidth(), s.dModel()),
                randn(rnd, 0.5, s.vWidth(), s.dModel()),
                s.gate() ? randn(rnd, 0.5, s.vWidth(), s.dModel()) : null,
                randn(rnd, 0.4, s.dModel(), s.vWidth()));
    }

    static RetentionMixer.Weights zerosLike(RetentionMixer.Weights w) {
        return new RetentionMixer.Weights(
                w.qProj().ulike().assign(0),
                w.kProj().ulike().assign(0),
                w.vProj().ulike().assign(0),
                w.gProj() == null ? null : w.gProj().ulike().assign(0),
                w.outProj().ulike().assign(0));
    }

    // ---- the decays ----------------------------------------------------------------------------------------

    @Test
    void decaysAreOneMinusTwoToTheMinusFiveMinusTheHead() {
        double[] expected = {
            1 - 1 / 32.0,
            1 - 1 / 64.0,
            1 - 1 / 128.0,
            1 - 1 / 256.0,
            1 - 1 / 512.0,
            1 - 1 / 1024.0,
            1 - 1 / 2048.0,
            1 - 1 / 4096.0
        };
        assertArrayEquals(expected, RetentionMixer.decays(8), 0.0);
        assertEquals(0.96875, RetentionMixer.decays(1)[0], 0.0);
        INDArray logs = RetentionMixer.logDecays(8, DataType.DOUBLE);
        for (int h = 0; h < 8; h++) {
            assertEquals(Math.log(expected[h]), logs.getDouble(h), 1e-16, "ln γ_" + h);
        }
        // a head far down the list keeps a non-zero log-decay where 1 − γ would round to 0 in fp32
        assertTrue(RetentionMixer.logDecays(30, DataType.FLOAT).getDouble(29) < 0);

        // a segment of T tokens moves the state by α_h = γ_h^T
        RetentionMixer.Spec s = spec(true, true);
        RetentionMixer mixer = new RetentionMixer(weights(s, new Random(1)), s);
        INDArray[] summary = mixer.fromZeroState(randn(new Random(2), 1.0, 1, 7, s.dModel()), 0, null)
                .summary();
        for (int h = 0; h < s.heads(); h++) {
            assertEquals(Math.pow(expected[h], 7), summary[0].getDouble(0, h), 1e-15, "α of head " + h);
        }
        assertEquals(s.heads() * s.valueDim() * s.keyDim(), summary[1].length());
    }

    // ---- three forms -----------------------------------------------------------------------------------------

    static Stream<Arguments> lengths() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int t : new int[] {1, 3, 4, 5, 8, 13, 40}) {
            for (boolean withState : new boolean[] {false, true}) {
                b.add(Arguments.of(t, withState));
            }
        }
        return b.build();
    }

    /**
     * parallel = recurrent (reference loop) = recurrent (the decoding step) = chunked, chunk 4 and 16, in fp64 within
     * 1e-10 and fp32 within 1e-4 (outputs and final states are O(1)).
     */
    @ParameterizedTest(name = "T={0} initialState={1}")
    @MethodSource("lengths")
    void parallelRecurrentAndChunkedFormsAgree(int t, boolean withState) {
        Random rnd = new Random(100L * t + (withState ? 1 : 0));
        int b = 2;
        int heads = 4;
        int dk = 3;
        int dv = 5;
        INDArray q = randn(rnd, 0.6, b, t, heads, dk);
        INDArray k = randn(rnd, 0.6, b, t, heads, dk);
        INDArray v = randn(rnd, 0.6, b, t, heads, dv);
        INDArray s0 = withState ? randn(rnd, 0.5, b, heads, dv, dk) : null;
        double[] gamma = RetentionMixer.decays(heads);

        RetentionReference.Result par = RetentionReference.parallel(q, k, v, gamma, s0);
        RetentionReference.Result rec = RetentionReference.recurrent(q, k, v, gamma, s0);
        assertClose("recurrent o", rec.o(), par.o(), FP64_TOL);
        assertClose("recurrent final state", rec.finalState(), par.finalState(), FP64_TOL);

        INDArray stepped = Nd4j.zeros(DataType.DOUBLE, b, t, heads, dv);
        INDArray state = s0 == null ? Nd4j.zeros(DataType.DOUBLE, b, heads, dv, dk) : s0.dup('c');
        for (int i = 0; i < t; i++) {
            INDArray o = RetentionMixer.retentionStep(token(q, i), token(k, i), token(v, i), state);
            stepped.get(all(), point(i), all(), all()).assign(o);
        }
        assertClose("step o", stepped, par.o(), FP64_TOL);
        assertClose("step final state", state, par.finalState(), FP64_TOL);

        for (int chunk : new int[] {4, 16}) {
            String at = " (chunk " + chunk + ")";
            SsdResult c64 = RetentionMixer.retention(q, k, v, chunk, s0);
            assertClose("chunked o fp64" + at, c64.y(), par.o(), FP64_TOL);
            assertClose("chunked final state fp64" + at, c64.finalState(), par.finalState(), FP64_TOL);
            SsdResult c32 = RetentionMixer.retention(f32(q), f32(k), f32(v), chunk, s0 == null ? null : f32(s0));
            assertEquals(DataType.FLOAT, c32.y().dataType());
            assertClose("chunked o fp32" + at, c32.y(), par.o(), FP32_TOL);
            assertClose("chunked final state fp32" + at, c32.finalState(), par.finalState(), FP32_TOL);
        }

        // not vacuous: the decay (vs γ = 1) and the initial state change the result
        double[] ones = {1, 1, 1, 1};
        if (t > 1) {
            assertTrue(
                    maxAbsDiff(RetentionReference.parallel(q, k, v, ones, s0).o(), par.o()) > 1e-3,
                    "the decay matters");
        }
        if (withState) {
            assertTrue(
                    maxAbsDiff(RetentionReference.parallel(q, k, v, gamma, null).o(), par.o()) > 1e-3,
                    "the initial state matters");
        }
    }

    // ---- the mixer -----------------------------------------------------------------------------------------

    /** The window against a restatement: projections, key scaling, the parallel form, RMSNorm per head, swish gate. */
    @ParameterizedTest(name = "groupNorm={0} gate={1}")
    @CsvSource({"true,true", "true,false", "false,true", "false,false"})
    void forwardMatchesAPlainRestatement(boolean groupNorm, boolean gate) {
        Random rnd = new Random(11);
        RetentionMixer.Spec s = spec(groupNorm, gate);
        RetentionMixer.Weights w = weights(s, rnd);
        int b = 2;
        int t = 7;
        INDArray x = randn(rnd, 1.0, b, t, s.dModel());
        INDArray s0 = randn(rnd, 0.5, s.stateShape(b));
        RetentionMixer.Output fwd = RetentionMixer.forward(x, w, s, new RetentionMixer.Carry(s0));

        INDArray x2 = x.reshape(b * t, s.dModel());
        INDArray q = x2.mmul(w.qProj().transpose()).reshape(b, t, s.heads(), s.keyDim());
        INDArray k = x2.mmul(w.kProj().transpose()).muli(1 / Math.sqrt(2)).reshape(b, t, s.heads(), s.keyDim());
        INDArray v = x2.mmul(w.vProj().transpose()).reshape(b, t, s.heads(), s.valueDim());
        RetentionReference.Result ret = RetentionReference.parallel(q, k, v, RetentionMixer.decays(s.heads()), s0);
        INDArray o = ret.o().reshape(b * t, s.vWidth());
        if (groupNorm) {
            INDArray normed = Nd4j.zeros(DataType.DOUBLE, b * t, s.vWidth());
            for (int h = 0; h < s.heads(); h++) {
                INDArray part = o.get(all(), interval(h * s.valueDim(), (h + 1) * s.valueDim()));
                INDArray rstd = Transforms.pow(part.mul(part).mean(true, 1).addi(1e-6), -0.5, false);
                normed.get(all(), interval(h * s.valueDim(), (h + 1) * s.valueDim()))
                        .assign(part.mulColumnVector(rstd));
            }
            o = normed;
        }
        if (gate) {
            INDArray g = x2.mmul(w.gProj().transpose());
            o = o.mul(Transforms.sigmoid(g, true).muli(g));
        }
        INDArray expected = o.mmul(w.outProj().transpose()).reshape(b, t, s.dModel());
        double err = expected.sub(fwd.out()).norm2Number().doubleValue()
                / expected.norm2Number().doubleValue();
        assertTrue(err < 1e-12, "relative error " + err);
        assertClose("carry-out state", fwd.carryOut().state(), ret.finalState(), 1e-12);
    }

    /** L = Σ out∘R + Σ stateOut∘Rs: dx, every parameter, and the carry state in (dOut and dCarryOut both reach it). */
    @ParameterizedTest(name = "groupNorm={0} gate={1}")
    @CsvSource({"true,true", "true,false", "false,true", "false,false"})
    void gradientsMatchFiniteDifferences(boolean groupNorm, boolean gate) {
        Random rnd = new Random(7);
        RetentionMixer.Spec s = spec(groupNorm, gate);
        RetentionMixer.Weights w = weights(s, rnd);
        int b = 2;
        int t = 7; // not a multiple of the chunk (3)
        INDArray x = randn(rnd, 1.0, b, t, s.dModel());
        INDArray state = randn(rnd, 0.5, s.stateShape(b));
        RetentionMixer.Carry carryIn = new RetentionMixer.Carry(state);
        INDArray r = randn(rnd, 1.0, b, t, s.dModel());
        INDArray rs = randn(rnd, 1.0, s.stateShape(b));
        DoubleSupplier loss = () -> {
            RetentionMixer.Output o = RetentionMixer.forward(x, w, s, carryIn);
            return dot(o.out(), r) + dot(o.carryOut().state(), rs);
        };
        RetentionMixer.Output fwd = RetentionMixer.forward(x, w, s, carryIn);
        RetentionMixer.Weights g = zerosLike(w);
        RetentionMixer.Gradients grads = RetentionMixer.backward(x, w, s, fwd, r, new RetentionMixer.Carry(rs), g);

        Map<String, INDArray[]> checks = new LinkedHashMap<>();
        checks.put("x", new INDArray[] {x, grads.dx()});
        checks.put("carry state", new INDArray[] {state, grads.dCarryIn().state()});
        checks.put("q_proj", new INDArray[] {w.qProj(), g.qProj()});
        checks.put("k_proj", new INDArray[] {w.kProj(), g.kProj()});
        checks.put("v_proj", new INDArray[] {w.vProj(), g.vProj()});
        if (gate) {
            checks.put("g_proj", new INDArray[] {w.gProj(), g.gProj()});
        }
        checks.put("out_proj", new INDArray[] {w.outProj(), g.outProj()});
        Random pick = new Random(3);
        for (Map.Entry<String, INDArray[]> e : checks.entrySet()) {
            INDArray p = e.getValue()[0];
            FiniteDifferences.check(
                    e.getKey(), p, e.getValue()[1], FiniteDifferences.entries(p.length(), 24, pick), loss, 1e-6);
        }

        // the carry-out gradient alone (dOut = 0) reaches the input and the carry-in: the state path is checked
        RetentionMixer.Gradients stateOnly =
                RetentionMixer.backward(x, w, s, fwd, r.mul(0), new RetentionMixer.Carry(rs), zerosLike(w));
        DoubleSupplier stateLoss =
                () -> dot(RetentionMixer.forward(x, w, s, carryIn).carryOut().state(), rs);
        FiniteDifferences.check(
                "x through the state",
                x,
                stateOnly.dx(),
                FiniteDifferences.entries(x.length(), 24, pick),
                stateLoss,
                1e-6);
        FiniteDifferences.check(
                "carry state through the state",
                state,
                stateOnly.dCarryIn().state(),
                FiniteDifferences.entries(state.length(), 24, pick),
                stateLoss,
                1e-6);
    }

    /** Windows continued through carries and one-token steps give the whole window (both parts of the carry). */
    @Test
    void carriesAndStepsContinueTheWindow() {
        Random rnd = new Random(5);
        RetentionMixer.Spec s = spec(true, true);
        RetentionMixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 2, 8, s.dModel());
        RetentionMixer.Output whole = RetentionMixer.forward(x, w, s, null);
        for (int split : new int[] {1, 4, 7}) {
            RetentionMixer.Output first = RetentionMixer.forward(
                    x.get(all(), interval(0, split), all()).dup(), w, s, null);
            RetentionMixer.Output second = RetentionMixer.forward(
                    x.get(all(), interval(split, 8), all()).dup(), w, s, first.carryOut());
            assertEquals(
                    0, maxAbsDiff(whole.out(), Nd4j.concat(1, first.out(), second.out())), 1e-12, "split at " + split);
            assertEquals(
                    0, maxAbsDiff(whole.carryOut().state(), second.carryOut().state()), 1e-12);
        }
        INDArray state = Nd4j.zeros(DataType.DOUBLE, s.stateShape(2));
        List<INDArray> outs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            outs.add(RetentionMixer.step(x.get(all(), point(i), all()).dup('c'), w, s, state)
                    .reshape(2, 1, s.dModel()));
        }
        assertEquals(0, maxAbsDiff(whole.out(), Nd4j.concat(1, outs.toArray(new INDArray[0]))), 1e-12, "steps");
        assertEquals(0, maxAbsDiff(whole.carryOut().state(), state), 1e-12, "stepped state");
    }

    /** The segment split: zero state, then finished with the true state, equals one run; the summary moves it. */
    @ParameterizedTest(name = "groupNorm={0} gate={1}")
    @CsvSource({"true,true", "false,false"})
    void zeroStatePartFinishedWithTheTrueStateEqualsOneRun(boolean groupNorm, boolean gate) {
        Random rnd = new Random(9);
        RetentionMixer.Spec s = spec(groupNorm, gate);
        RetentionMixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 2, 9, s.dModel());
        RetentionMixer.Output whole = RetentionMixer.forward(x, w, s, null);
        for (int split : new int[] {1, 2, 5}) {
            INDArray head = x.get(all(), interval(0, split), all()).dup();
            INDArray tail = x.get(all(), interval(split, 9), all()).dup();
            RetentionMixer.Output first = RetentionMixer.forward(head, w, s, null);
            RetentionMixer.ZeroStatePart part = RetentionMixer.fromZeroState(tail, w, s);
            INDArray moved = part.summary().apply(first.carryOut().state());
            INDArray out = RetentionMixer.finish(part, w, s, first.carryOut().state());
            assertEquals(0, maxAbsDiff(whole.out(), Nd4j.concat(1, first.out(), out)), 1e-12, "split at " + split);
            assertEquals(0, maxAbsDiff(whole.carryOut().state(), moved), 1e-12);
            INDArray uncorrected = RetentionMixer.finish(RetentionMixer.fromZeroState(tail, w, s), w, s, null);
            assertTrue(maxAbsDiff(uncorrected, out) > 1e-3, "the initial-state term is not vacuous");
        }
    }

    // ---- the family ----------------------------------------------------------------------------------------

    /** Names and shapes (torchscale's), seeded init within the xavier bound, and the mixer the registry builds. */
    @Test
    void familyDeclaresTorchscaleNamesAndInitialises() {
        MambaConfig c = MambaConfig.builder()
                .dModel(16)
                .nLayer(2)
                .vocabSize(32)
                .ssm(SsmConfig.builder().retNet(RetNetConfig.of(4)).chunkSize(8).build())
                .build();
        List<String> names = new ArrayList<>();
        for (MixerParameter p : Mixers.family(c, 0).parameters(c)) {
            names.add(p + (p.weightDecay() ? " decayed" : ""));
        }
        assertEquals(
                List.of(
                        "q_proj.weight[16, 16] decayed",
                        "k_proj.weight[16, 16] decayed",
                        "v_proj.weight[32, 16] decayed",
                        "g_proj.weight[32, 16] decayed",
                        "out_proj.weight[16, 32] decayed"),
                names);
        MambaConfig plain = c.toBuilder()
                .ssm(SsmConfig.builder()
                        .retNet(RetNetConfig.of(2)
                                .withGate(false)
                                .withGroupNorm(false)
                                .withValueFactor(1))
                        .build())
                .build();
        List<String> plainNames = new ArrayList<>();
        Mixers.family(plain, 1).parameters(plain).forEach(p -> plainNames.add(p.toString()));
        assertEquals(
                List.of(
                        "q_proj.weight[16, 16]",
                        "k_proj.weight[16, 16]",
                        "v_proj.weight[16, 16]",
                        "out_proj.weight[16, 16]"),
                plainNames);

        MixerParameter q = Mixers.family(c, 0).parameters(c).get(0);
        double bound = Math.pow(2, -2.5) * Math.sqrt(6.0 / 32);
        double[] drawn = q.init().values(256, new Random(4), 1.0);
        double max = 0;
        for (double v : drawn) {
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(max <= bound && max > 0.9 * bound, "xavier_uniform(gain 2^-2.5) bound " + bound + ", max " + max);
        assertArrayEquals(drawn, q.init().values(256, new Random(4), 1.0), 0.0, "seeded");

        HybridLm model = new HybridLm(c, ModelInit.initialize(c, 3, DataType.DOUBLE));
        RetentionMixer m = (RetentionMixer) model.mixer(0);
        assertEquals("retnet", m.kind());
        assertEquals(new RetentionMixer.Spec(16, 4, 4, 8, 8, true, true, 1e-6), m.spec());
        assertEquals(0, m.haloRows());
        assertTrue(m.carriesState());
    }

    @Test
    void refusesMisshapedWeightsAndStatesByName() {
        Random rnd = new Random(1);
        RetentionMixer.Spec s = spec(true, true);
        RetentionMixer.Weights w = weights(s, rnd);
        RetentionMixer.Weights noGate = new RetentionMixer.Weights(w.qProj(), w.kProj(), w.vProj(), null, w.outProj());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> RetentionMixer.forward(randn(rnd, 1, 1, 2, 6), noGate, s, null));
        assertEquals("tensor 'g_proj.weight' is required but was null (expected shape [12, 6])", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> RetentionMixer.forward(
                        randn(rnd, 1, 1, 2, 6), w, s, new RetentionMixer.Carry(randn(rnd, 1, 1, 3, 2, 4))));
        assertEquals("tensor 'carry state': expected shape [1, 3, 4, 2] but found [1, 3, 2, 4]", e.getMessage());
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private static INDArray token(INDArray a, int t) {
        return a.get(all(), point(t), all(), all()).dup('c');
    }

    private static INDArray f32(INDArray a) {
        return a.castTo(DataType.FLOAT);
    }

    private static void assertClose(String what, INDArray actual, INDArray expected, double tolerance) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double diff = maxAbsDiff(actual, expected);
        assertTrue(diff <= tolerance, what + ": max |difference| " + diff + " > " + tolerance);
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        assertEquals(a.length(), b.length());
        return a.castTo(DataType.DOUBLE)
                .reshape(a.length())
                .sub(b.castTo(DataType.DOUBLE).reshape(b.length()))
                .amaxNumber()
                .doubleValue();
    }
}
