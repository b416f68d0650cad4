package io.ssmspark.model.lm;

import static io.ssmspark.model.testing.FiniteDifferences.dot;
import static io.ssmspark.model.testing.FiniteDifferences.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.mixer.MixerParameter;
import io.ssmspark.model.mixer.Mixers;
import io.ssmspark.model.mixer.S4dMixer;
import io.ssmspark.model.s4d.Cx;
import io.ssmspark.model.s4d.Discretization;
import io.ssmspark.model.s4d.FftConv;
import io.ssmspark.model.s4d.S4dInit;
import io.ssmspark.model.s4d.S4dKernel;
import io.ssmspark.model.testing.FiniteDifferences;
import io.ssmspark.model.testing.TinyModels;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The S4D layer: discretisation goldens, the four initialisations, the convolution mode against a plain recurrence
 * (also with a kernel shorter than the input, against the recurrence truncated the same way), windows continued
 * from a state, and fp64 finite differences of the mixer for its input, every parameter and the carry state.
 */
class S4dMixerTest {

    // ---- discretisation goldens ------------------------------------------------------------------------------

    @Test
    void zohAndBilinearGoldens() {
        Discretization.Mode zoh = Discretization.zoh(-1, 0, 0.1);
        assertEquals(0.9048374180, zoh.aRe(), 1e-10);
        assertEquals(0.0951625820, zoh.bRe(), 1e-10);
        assertEquals(0.0, zoh.aIm(), 0.0);
        assertEquals(0.0, zoh.bIm(), 0.0);
        Discretization.Mode bil = Discretization.bilinear(-1, 0, 0.1);
        assertEquals(0.9047619048, bil.aRe(), 1e-10);
        assertEquals(0.0952380952, bil.bRe(), 1e-10);
        // the two differ at second order in Δa: a wrong formula would not
        assertTrue(Math.abs(zoh.aRe() - bil.aRe()) > 5e-5);
    }

    /** The mixer's own array ZOH: A = diag(−0.5, −0.3), Δ = 0.1 has the eigenvalues e^−0.05 and e^−0.03. */
    @Test
    void zohOfADiagonalMatrixGivesItsEigenvalues() {
        INDArray logAReal = Nd4j.create(new double[] {Math.log(0.5), Math.log(0.3)}, new long[] {1, 2}, 'c');
        S4dKernel.Discrete d =
                S4dKernel.zoh(Nd4j.create(new double[] {Math.log(0.1)}, new long[] {1}, 'c'), logAReal, null);
        assertEquals(0.951229, d.aBar().re().getDouble(0, 0), 1e-6);
        assertEquals(0.970446, d.aBar().re().getDouble(0, 1), 1e-6);
        assertEquals(0.0, d.aBar().im().amaxNumber().doubleValue(), 0.0);
        // B̄ = A⁻¹(Ā − 1): (1 − e^−0.05)/0.5 and (1 − e^−0.03)/0.3
        assertEquals(-Math.expm1(-0.05) / 0.5, d.bBar().re().getDouble(0, 0), 1e-15);
        assertEquals(-Math.expm1(-0.03) / 0.3, d.bBar().re().getDouble(0, 1), 1e-15);
    }

    /** The array ZOH equals the scalar one on complex modes, including a tiny Δa where Ā − 1 cancels. */
    @Test
    void arrayZohEqualsScalarZohOnComplexModes() {
        double[][] modes = {{-0.5, 3.0, 0.1}, {-2.0, -7.5, 0.03}, {-0.5, 100.0, 1e-4}, {-1e-3, 1e-3, 1e-5}};
        for (double[] md : modes) {
            Discretization.Mode expect = Discretization.zoh(md[0], md[1], md[2]);
            S4dKernel.Discrete d = S4dKernel.zoh(
                    Nd4j.create(new double[] {Math.log(md[2])}, new long[] {1}, 'c'),
                    Nd4j.create(new double[] {Math.log(-md[0])}, new long[] {1, 1}, 'c'),
                    Nd4j.create(new double[] {md[1]}, new long[] {1, 1}, 'c'));
            assertEquals(expect.aRe(), d.aBar().re().getDouble(0, 0), 1e-14);
            assertEquals(expect.aIm(), d.aBar().im().getDouble(0, 0), 1e-14);
            assertEquals(expect.bRe(), d.bBar().re().getDouble(0, 0), 1e-14 * Math.max(1, Math.abs(expect.bRe())));
            assertEquals(expect.bIm(), d.bBar().im().getDouble(0, 0), 1e-14 * Math.max(1, Math.abs(expect.bIm())));
        }
        // small Δa: B̄ → Δ (B = 1); expm1 keeps the relative error at rounding
        Discretization.Mode tiny = Discretization.zoh(-1e-3, 1e-3, 1e-5);
        assertEquals(1e-5, tiny.bRe(), 1e-5 * 1e-7);
    }

    // ---- initialisations ---------------------------------------------------------------------------------------

    @Test
    void theFourInitialisationsGiveTheDocumentedA() {
        int n = 8;
        double[] linRe = S4dInit.real(S4dConfig.Init.LIN, n);
        double[] linIm = S4dInit.imag(S4dConfig.Init.LIN, n);
        double[] invRe = S4dInit.real(S4dConfig.Init.INV, n);
        double[] invIm = S4dInit.imag(S4dConfig.Init.INV, n);
        assertEquals(4, linRe.length);
        assertEquals(4, invIm.length);
        for (int k = 0; k < 4; k++) {
            assertEquals(-0.5, linRe[k], 0.0);
            assertEquals(Math.PI * k, linIm[k], 1e-15);
            assertEquals(-0.5, invRe[k], 0.0);
            assertEquals(8 / Math.PI * (8.0 / (2 * k + 1) - 1), invIm[k], 1e-13);
        }
        assertEquals(8 / Math.PI * 7, invIm[0], 1e-13); // (N/π)(N − 1) for n = 0
        double[] realRe = S4dInit.real(S4dConfig.Init.REAL, n);
        double[] legsRe = S4dInit.real(S4dConfig.Init.LEGS, n);
        assertEquals(8, realRe.length);
        for (int k = 0; k < 8; k++) {
            assertEquals(-(k + 1), realRe[k], 0.0);
            assertEquals(-(k + 1), legsRe[k], 0.0);
            assertEquals(0.0, S4dInit.imag(S4dConfig.Init.REAL, n)[k], 0.0);
        }
        double[][] legs = S4dInit.hippoLegS(4);
        assertEquals(-Math.sqrt(5) * Math.sqrt(3), legs[2][1], 1e-15); // below the diagonal
        assertEquals(0.0, legs[1][2], 0.0); // above it
        assertEquals(-3.0, legs[2][2], 0.0);
    }

    /** A fresh model's S4D tensors hold those A (through log_A_real and A_imag) in every channel. */
    @ParameterizedTest
    @EnumSource(S4dConfig.Init.class)
    void aFreshModelHoldsTheInitialA(S4dConfig.Init init) {
        MambaConfig c = TinyModels.pureS4d(init, 4);
        CheckpointSchema schema = CheckpointSchema.of(c);
        Map<String, INDArray> t = schema.unflatten(ModelInit.initialize(c, 5, DataType.DOUBLE));
        String p = "backbone.layers.1.mixer.";
        double[] re = S4dInit.real(init, c.ssm().dState());
        double[] im = S4dInit.imag(init, c.ssm().dState());
        INDArray logAReal = t.get(p + "kernel.log_A_real");
        assertEquals(re.length, logAReal.size(1));
        for (int h = 0; h < c.dModel(); h++) {
            for (int m = 0; m < re.length; m++) {
                assertEquals(re[m], -Math.exp(logAReal.getDouble(h, m)), 1e-12);
                if (init.complex()) {
                    assertEquals(im[m], t.get(p + "kernel.A_imag").getDouble(h, m), 1e-12);
                }
            }
        }
        assertEquals(init.complex(), schema.contains(p + "kernel.A_imag"));
        INDArray logDt = t.get(p + "kernel.log_dt");
        assertTrue(logDt.minNumber().doubleValue() >= Math.log(c.ssm().dtMin()));
        assertTrue(logDt.maxNumber().doubleValue() <= Math.log(c.ssm().dtMax()));
        List<String> decayed = Mixers.family(c, 1).parameters(c).stream()
                .filter(MixerParameter::weightDecay)
                .map(MixerParameter::name)
                .toList();
        assertEquals(List.of("output_linear.0.weight"), decayed);
    }

    // ---- convolution mode = recurrent mode -------------------------------------------------------------------

    /** H = 3 channels of 4 modes, random parameters with varied decay and frequency. */
    static S4dKernel.Params randomParams(Random rnd, int h, int m, boolean complex) {
        INDArray logDt = Nd4j.create(new double[] {Math.log(0.05), Math.log(0.2), Math.log(0.6)}, new long[] {3}, 'c')
                .get(interval(0, h))
                .dup();
        INDArray logAReal = randn(rnd, 0.5, h, m).addi(Math.log(0.5));
        INDArray aImag = complex ? randn(rnd, 2.0, h, m) : null;
        Cx c = complex ? new Cx(randn(rnd, 0.7, h, m), randn(rnd, 0.7, h, m)) : Cx.real(randn(rnd, 0.7, h, m));
        return new S4dKernel.Params(logDt, logAReal, aImag, c, randn(rnd, 0.5, h));
    }

    /** The recurrence h_t = Ā h_{t−1} + B̄ u_t, y_t = f·Re(C h_t) + D u_t, token by token in plain doubles. */
    static double[][][] recurrence(
            S4dKernel.Params p, boolean complex, double[][][] u, double[][][][] h0, double[][][][] finalState) {
        S4dKernel.Discrete d = S4dKernel.zoh(p.logDt(), p.logAReal(), p.aImag());
        int hs = u.length;
        int bs = u[0].length;
        int ts = u[0][0].length;
        int ms = (int) p.logAReal().size(1);
        double f = complex ? 2 : 1;
        double[][][] y = new double[hs][bs][ts];
        for (int h = 0; h < hs; h++) {
            for (int b = 0; b < bs; b++) {
                for (int m = 0; m < ms; m++) {
                    double ar = d.aBar().re().getDouble(h, m);
                    double ai = d.aBar().im().getDouble(h, m);
                    double br = d.bBar().re().getDouble(h, m);
                    double bi = d.bBar().im().getDouble(h, m);
                    double cr = p.c().re().getDouble(h, m);
                    double ci = p.c().im().getDouble(h, m);
                    double sr = h0 == null ? 0 : h0[h][m][b][0];
                    double si = h0 == null ? 0 : h0[h][m][b][1];
                    for (int t = 0; t < ts; t++) {
                        double nr = ar * sr - ai * si + br * u[h][b][t];
                        double ni = ar * si + ai * sr + bi * u[h][b][t];
                        sr = nr;
                        si = ni;
                        y[h][b][t] += f * (cr * sr - ci * si);
                    }
                    if (finalState != null) {
                        finalState[h][m][b][0] = sr;
                        finalState[h][m][b][1] = si;
                    }
                }
                for (int t = 0; t < ts; t++) {
                    y[h][b][t] += p.d().getDouble(h) * u[h][b][t];
                }
            }
        }
        return y;
    }

    /**
     * The convolution mode (one block as long as the window, and blocks of 4 and 1) equals the recurrence in fp64,
     * from zero and from a random state, output and final state.
     */
    @ParameterizedTest(name = "complex={0} block={1}")
    @CsvSource({"true,64", "true,4", "true,1", "false,64", "false,3"})
    void convolutionModeEqualsTheRecurrence(boolean complex, int block) {
        Random rnd = new Random(17);
        int h = 3;
        int m = 4;
        int b = 2;
        int t = 23;
        S4dKernel.Params p = randomParams(rnd, h, m, complex);
        S4dKernel.Dims dims = new S4dKernel.Dims(h, m, complex, block);
        INDArray u = randn(rnd, 1.0, h, b, t);
        for (boolean fromState : new boolean[] {false, true}) {
            Cx s0 = fromState
                    ? new Cx(
                            randn(rnd, 1.0, h, m, b),
                            complex ? randn(rnd, 1.0, h, m, b) : Nd4j.zeros(DataType.DOUBLE, h, m, b))
                    : null;
            double[][][][] expectState = new double[h][m][b][2];
            double[][][] expect = recurrence(p, complex, toArray3(u), s0 == null ? null : toState(s0), expectState);
            S4dKernel.Forward f = S4dKernel.forward(u, p, dims, s0, false);
            assertEquals(0, maxAbsDiff(expect, f.y()), 1e-10, "y, from state " + fromState);
            assertEquals(0, maxAbsDiff(expectState, f.finalState()), 1e-10, "final state, from state " + fromState);
            assertTrue(Nd4j.create(flatten(expect)).amaxNumber().doubleValue() > 0.1, "not vacuous");
        }
    }

    /**
     * A kernel shorter than the input (L_K = 5 &lt; L_u = 19): the FFT convolution equals the recurrence truncated
     * the same way, h_t = Ā h_{t−1} + B̄ u_t − Ā^{L_K} B̄ u_{t−L_K} (only the last L_K inputs in the state); and a
     * kernel longer than the input (zero padding to ≥ L_K + L_u − 1) equals the plain recurrence.
     */
    @ParameterizedTest(name = "complex={0}")
    @CsvSource({"true", "false"})
    void truncatedKernelEqualsTheTruncatedRecurrence(boolean complex) {
        Random rnd = new Random(23);
        int h = 3;
        int m = 4;
        int b = 2;
        int lu = 19;
        S4dKernel.Params p = randomParams(rnd, h, m, complex);
        S4dKernel.Discrete d = S4dKernel.zoh(p.logDt(), p.logAReal(), p.aImag());
        INDArray u = randn(rnd, 1.0, h, b, lu);
        double f = complex ? 2 : 1;
        for (int lk : new int[] {5, 1, 19, 40}) {
            INDArray k = S4dKernel.kernel(p.c(), d, S4dKernel.powers(d.dtA(), lk), f);
            INDArray y = FftConv.causalConvolution(k, u);
            double[][][] expect = new double[h][b][lu];
            for (int hh = 0; hh < h; hh++) {
                for (int bb = 0; bb < b; bb++) {
                    for (int mm = 0; mm < m; mm++) {
                        double ar = d.aBar().re().getDouble(hh, mm);
                        double ai = d.aBar().im().getDouble(hh, mm);
                        double br = d.bBar().re().getDouble(hh, mm);
                        double bi = d.bBar().im().getDouble(hh, mm);
                        // Ā^{L_K} B̄, by repeated multiplication (independent of the kernel's exp(k·ΔA))
                        double pr = br;
                        double pi = bi;
                        for (int j = 0; j < lk; j++) {
                            double nr = ar * pr - ai * pi;
                            pi = ar * pi + ai * pr;
                            pr = nr;
                        }
                        double sr = 0;
                        double si = 0;
                        for (int t = 0; t < lu; t++) {
                            double ut = u.getDouble(hh, bb, t);
                            double old = t >= lk ? u.getDouble(hh, bb, t - lk) : 0;
                            double nr = ar * sr - ai * si + br * ut - pr * old;
                            double ni = ar * si + ai * sr + bi * ut - pi * old;
                            sr = nr;
                            si = ni;
                            expect[hh][bb][t] += f
                                    * (p.c().re().getDouble(hh, mm) * sr
                                            - p.c().im().getDouble(hh, mm) * si);
                        }
                    }
                }
            }
            assertEquals(0, maxAbsDiff(expect, y), 1e-10, "L_K = " + lk);
        }
        // the truncation matters: a 5-tap kernel differs from the full one
        INDArray k5 = S4dKernel.kernel(p.c(), d, S4dKernel.powers(d.dtA(), 5), f);
        INDArray k19 = S4dKernel.kernel(p.c(), d, S4dKernel.powers(d.dtA(), 19), f);
        assertTrue(FftConv.causalConvolution(k5, u)
                        .sub(FftConv.causalConvolution(k19, u))
                        .amaxNumber()
                        .doubleValue()
                > 1e-3);
    }

    /** A window continued from the state after its first part equals the whole window (mixer level, blocks of 3). */
    @ParameterizedTest(name = "{0}")
    @EnumSource(
            value = S4dConfig.Init.class,
            names = {"LIN", "REAL"})
    void twoPartsThroughTheCarryEqualOneWindow(S4dConfig.Init init) {
        Random rnd = new Random(5);
        S4dMixer.Spec s = new S4dMixer.Spec(4, 6, init, 3);
        S4dMixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 2, 11, s.dModel());
        S4dMixer.Output whole = S4dMixer.forward(x, w, s, null, false);
        for (int split : new int[] {1, 3, 7, 10}) {
            S4dMixer.Output first =
                    S4dMixer.forward(x.get(all(), interval(0, split), all()).dup(), w, s, null, false);
            S4dMixer.Output second =
                    S4dMixer.forward(x.get(all(), interval(split, 11), all()).dup(), w, s, first.carryOut(), false);
            INDArray joined = Nd4j.concat(1, first.out(), second.out());
            assertEquals(0, whole.out().sub(joined).amaxNumber().doubleValue(), 1e-12, "split at " + split);
            assertEquals(
                    0,
                    whole.carryOut()
                            .state()
                            .sub(second.carryOut().state())
                            .amaxNumber()
                            .doubleValue(),
                    1e-12);
            // the carry matters
            S4dMixer.Output cold =
                    S4dMixer.forward(x.get(all(), interval(split, 11), all()).dup(), w, s, null, false);
            assertTrue(cold.out().sub(second.out()).amaxNumber().doubleValue() > 1e-3);
        }
    }

    // ---- finite differences ------------------------------------------------------------------------------------

    static S4dMixer.Weights weights(S4dMixer.Spec s, Random rnd) {
        int h = s.dModel();
        int m = s.modes();
        double[] dts = new double[h];
        for (int i = 0; i < h; i++) {
            dts[i] = Math.log(0.03 + 0.5 * rnd.nextDouble());
        }
        INDArray aImag = null;
        if (s.complex()) {
            aImag = Nd4j.create(DataType.DOUBLE, h, m);
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < m; j++) {
                    aImag.putScalar(new long[] {i, j}, Math.PI * j + 0.3 * rnd.nextGaussian());
                }
            }
        }
        return new S4dMixer.Weights(
                randn(rnd, 0.5, h),
                randn(rnd, 0.6, s.cShape()),
                Nd4j.create(dts, new long[] {h}, 'c'),
                randn(rnd, 0.4, h, m).addi(Math.log(0.5)),
                aImag,
                randn(rnd, 0.5, 2L * h, h),
                randn(rnd, 0.2, 2L * h));
    }

    static S4dMixer.Weights zerosLike(S4dMixer.Weights w) {
        return new S4dMixer.Weights(
                w.d().ulike().assign(0),
                w.c().ulike().assign(0),
                w.logDt().ulike().assign(0),
                w.logAReal().ulike().assign(0),
                w.aImag() == null ? null : w.aImag().ulike().assign(0),
                w.outWeight().ulike().assign(0),
                w.outBias().ulike().assign(0));
    }

    /**
     * L = Σ out∘R + Σ stateOut∘Rs over a window of 7 in blocks of 3 from a random carry state: the input, every
     * parameter and the carry state against central differences (≤ 1e-6 relative).
     */
    @ParameterizedTest(name = "{0} block {1}")
    @CsvSource({"LIN,3", "INV,7", "REAL,3", "LEGS,2"})
    void gradientsMatchFiniteDifferences(S4dConfig.Init init, int block) {
        Random rnd = new Random(7);
        S4dMixer.Spec s = new S4dMixer.Spec(4, 6, init, block);
        S4dMixer.Weights w = weights(s, rnd);
        int b = 2;
        int t = 7;
        INDArray x = randn(rnd, 1.0, b, t, s.dModel());
        INDArray state = randn(rnd, 0.5, b, s.dModel(), s.modes(), 2);
        S4dMixer.Carry carryIn = new S4dMixer.Carry(state);
        INDArray r = randn(rnd, 1.0, b, t, s.dModel());
        INDArray rs = randn(rnd, 1.0, b, s.dModel(), s.modes(), 2);
        DoubleSupplier loss = () -> {
            S4dMixer.Output o = S4dMixer.forward(x, w, s, carryIn, false);
            return dot(o.out(), r) + dot(o.carryOut().state(), rs);
        };
        S4dMixer.Output fwd = S4dMixer.forward(x, w, s, carryIn, true);
        S4dMixer.Weights g = zerosLike(w);
        S4dMixer.Gradients grads = S4dMixer.backward(x, w, s, fwd, r, new S4dMixer.Carry(rs), g);

        Map<String, INDArray[]> checks = new LinkedHashMap<>();
        checks.put("x", new INDArray[] {x, grads.dx()});
        checks.put("carry state", new INDArray[] {state, grads.dCarryIn().state()});
        checks.put("D", new INDArray[] {w.d(), g.d()});
        checks.put("kernel.C", new INDArray[] {w.c(), g.c()});
        checks.put("kernel.log_dt", new INDArray[] {w.logDt(), g.logDt()});
        checks.put("kernel.log_A_real", new INDArray[] {w.logAReal(), g.logAReal()});
        if (s.complex()) {
            checks.put("kernel.A_imag", new INDArray[] {w.aImag(), g.aImag()});
        }
        checks.put("output_linear.0.weight", new INDArray[] {w.outWeight(), g.outWeight()});
        checks.put("output_linear.0.bias", new INDArray[] {w.outBias(), g.outBias()});
        Random pick = new Random(3);
        for (Map.Entry<String, INDArray[]> e : checks.entrySet()) {
            INDArray p = e.getValue()[0];
            FiniteDifferences.check(
                    e.getKey(), p, e.getValue()[1], FiniteDifferences.entries(p.length(), 24, pick), loss, 1e-6);
        }
    }

    /** Only the output gradient (no carry in or out): dCarryIn is absent, the rest still matches. */
    @Test
    void gradientsWithoutCarries() {
        Random rnd = new Random(8);
        S4dMixer.Spec s = new S4dMixer.Spec(3, 4, S4dConfig.Init.LIN, 4);
        S4dMixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 1, 9, s.dModel());
        INDArray r = randn(rnd, 1.0, 1, 9, s.dModel());
        DoubleSupplier loss = () -> dot(S4dMixer.forward(x, w, s, null, false).out(), r);
        S4dMixer.Weights g = zerosLike(w);
        S4dMixer.Gradients grads = S4dMixer.backward(x, w, s, S4dMixer.forward(x, w, s, null, true), r, null, g);
        assertEquals(null, grads.dCarryIn());
        Random pick = new Random(4);
        FiniteDifferences.check("x", x, grads.dx(), FiniteDifferences.entries(x.length(), 20, pick), loss, 1e-6);
        FiniteDifferences.check(
                "A_imag",
                w.aImag(),
                g.aImag(),
                FiniteDifferences.entries(w.aImag().length(), 12, pick),
                loss,
                1e-6);
        FiniteDifferences.check("log_dt", w.logDt(), g.logDt(), FiniteDifferences.entries(3, 3, pick), loss, 1e-6);
    }

    // ---- steps and misshaped input ------------------------------------------------------------------------------

    /** The recurrent step, token by token, equals the convolution-mode window (fp64). */
    @Test
    void stepsEqualTheWindow() {
        Random rnd = new Random(13);
        S4dMixer.Spec s = new S4dMixer.Spec(4, 8, S4dConfig.Init.INV, 4);
        S4dMixer.Weights w = weights(s, rnd);
        INDArray x = randn(rnd, 1.0, 2, 10, s.dModel());
        S4dMixer.Output whole = S4dMixer.forward(x, w, s, null, false);
        INDArray state = Nd4j.zeros(DataType.DOUBLE, 2, s.dModel(), s.modes(), 2);
        for (int t = 0; t < 10; t++) {
            INDArray out = S4dMixer.step(
                    x.get(all(), org.nd4j.linalg.indexing.NDArrayIndex.point(t), all())
                            .dup(),
                    w,
                    s,
                    state);
            INDArray expect = whole.out().get(all(), org.nd4j.linalg.indexing.NDArrayIndex.point(t), all());
            assertEquals(0, expect.sub(out).amaxNumber().doubleValue(), 1e-10, "token " + t);
        }
        assertEquals(0, whole.carryOut().state().sub(state).amaxNumber().doubleValue(), 1e-10);
    }

    @Test
    void refusesMisshapedWeightsByName() {
        Random rnd = new Random(1);
        S4dMixer.Spec s = new S4dMixer.Spec(4, 6, S4dConfig.Init.LIN, 3);
        S4dMixer.Weights w = weights(s, rnd);
        S4dMixer.Weights bad = new S4dMixer.Weights(
                w.d(), randn(rnd, 1, 4, 6), w.logDt(), w.logAReal(), w.aImag(), w.outWeight(), w.outBias());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> S4dMixer.forward(randn(rnd, 1, 1, 2, 4), bad, s, null, false));
        assertEquals("tensor 'kernel.C': expected shape [4, 3, 2] but found [4, 6]", e.getMessage());
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static double[][][] toArray3(INDArray u) {
        int h = (int) u.size(0);
        int b = (int) u.size(1);
        int t = (int) u.size(2);
        double[][][] out = new double[h][b][t];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < b; j++) {
                for (int k = 0; k < t; k++) {
                    out[i][j][k] = u.getDouble(i, j, k);
                }
            }
        }
        return out;
    }

    private static double[][][][] toState(Cx s) {
        int h = (int) s.re().size(0);
        int m = (int) s.re().size(1);
        int b = (int) s.re().size(2);
        double[][][][] out = new double[h][m][b][2];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < m; j++) {
                for (int k = 0; k < b; k++) {
                    out[i][j][k][0] = s.re().getDouble(i, j, k);
                    out[i][j][k][1] = s.im().getDouble(i, j, k);
                }
            }
        }
        return out;
    }

    private static double maxAbsDiff(double[][][] expect, INDArray got) {
        double worst = 0;
        for (int i = 0; i < expect.length; i++) {
            for (int j = 0; j < expect[i].length; j++) {
                for (int k = 0; k < expect[i][j].length; k++) {
                    worst = Math.max(worst, Math.abs(expect[i][j][k] - got.getDouble(i, j, k)));
                }
            }
        }
        return worst;
    }

    private static double maxAbsDiff(double[][][][] expect, Cx got) {
        double worst = 0;
        for (int i = 0; i < expect.length; i++) {
            for (int j = 0; j < expect[i].length; j++) {
                for (int k = 0; k < expect[i][j].length; k++) {
                    worst = Math.max(
                            worst, Math.abs(expect[i][j][k][0] - got.re().getDouble(i, j, k)));
                    worst = Math.max(
                            worst, Math.abs(expect[i][j][k][1] - got.im().getDouble(i, j, k)));
                }
            }
        }
        return worst;
    }

    private static double[] flatten(double[][][] a) {
        return java.util.Arrays.stream(a)
                .flatMap(java.util.Arrays::stream)
                .flatMapToDouble(java.util.Arrays::stream)
                .toArray();
    }
}
