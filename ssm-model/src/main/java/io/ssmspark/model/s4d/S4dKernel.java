package io.ssmspark.model.s4d;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Reverse;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The S4D state space model of H channels, each a diagonal linear time-invariant SSM of M modes with B = 1, on
 * signals laid out channel-major, u [H, B, T] (channel, sequence, time):
 *
 * <pre>
 *   Δ = exp(log_dt),  A = −exp(log_A_real) + i·A_imag,  Ā = exp(ΔA),  B̄ = A⁻¹(Ā − 1)     (ZOH)
 *   h_t = Ā h_{t−1} + B̄ u_t,   y_t = f·Re(Σ_m C_m h_t,m) + D u_t
 * </pre>
 *
 * with f = 2 for complex modes (each stands for a conjugate pair, whose two outputs add up to twice the real part)
 * and f = 1 for real modes (A_imag and Im C are 0). Over a window the output is the convolution with the kernel
 * K_k = f·Re(Σ_m C_m B̄_m Ā_m^k) plus the carried state's term f·Re(Σ_m C_m Ā_m^{t+1} h_{−1,m}).
 *
 * <p>A window runs in blocks of {@code chunk} tokens, so memory stays bounded in the window length: inside a
 * block the kernel (its first {@code chunk} taps) convolves by FFT ({@link FftConv}) and the state entering the
 * block adds its term through the Vandermonde matrix W_k = Ā^k (one batched gemm); between blocks the state moves
 * on, h ← Ā^L h + B̄·Σ_j Ā^{L−1−j} u_j (one more gemm). The block loop is O(T / chunk) Java iterations; there is no
 * per-token loop. A block as long as the window is the plain convolution mode. The backward runs the blocks in
 * reverse with the FFT correlations and the chain rule through the kernel and the Vandermonde matrix.
 *
 * <p>States are complex [H, M, B] ({@link Cx}). Parameter gradients come back as new arrays (the mixer adds them
 * into its accumulators).
 */
public final class S4dKernel {

    private S4dKernel() {}

    /** Sizes: H channels of M modes, complex (conjugate pairs, f = 2) or real (f = 1), blocks of {@code chunk}. */
    public record Dims(int channels, int modes, boolean complex, int chunk) {
        public Dims {
            if (channels < 1 || modes < 1 || chunk < 1) {
                throw new IllegalArgumentException("S4D sizes: channels, modes and chunk must be >= 1, found "
                        + channels + ", " + modes + ", " + chunk);
            }
        }

        /** f: 2 for conjugate pairs, 1 for real modes. */
        public double pairFactor() {
            return complex ? 2 : 1;
        }
    }

    /**
     * The parameters (or, in a backward, nothing else is read from them): log_dt [H], log_A_real [H, M], A_imag
     * [H, M] (null for real modes), C [H, M] complex (imaginary part zero for real modes), D [H].
     */
    public record Params(INDArray logDt, INDArray logAReal, INDArray aImag, Cx c, INDArray d) {}

    /** The discretised modes: A, ΔA, Ā, B̄ [H, M] and Δ [H, 1]. */
    public record Discrete(Cx a, Cx dtA, Cx aBar, Cx bBar, INDArray dt) {}

    /** ZOH of every mode (B = 1): Ā = exp(ΔA), B̄ = A⁻¹(Ā − 1), with Ā − 1 from expm1. */
    public static Discrete zoh(INDArray logDt, INDArray logAReal, INDArray aImag) {
        long h = logAReal.size(0);
        INDArray dt = Transforms.exp(logDt, true).reshape(h, 1);
        INDArray aRe = Transforms.exp(logAReal, true).negi();
        Cx a = aImag == null ? Cx.real(aRe) : new Cx(aRe, aImag.dup('c'));
        Cx dtA = a.mul(dt);
        return new Discrete(a, dtA, Cx.exp(dtA), Cx.expm1(dtA).div(a), dt);
    }

    /** Ā^(k) = exp(k·ΔA) for k = 0 … len − 1: the Vandermonde matrix W [H, M, len]. */
    public static Cx powers(Cx dtA, int len) {
        DataType dtype = dtA.re().dataType();
        INDArray k = Nd4j.arange(len).castTo(dtype).reshape(1, len);
        long h = dtA.re().size(0);
        long m = dtA.re().size(1);
        // k·ΔA as outer products (one exact multiply per entry)
        INDArray re = Nd4j.createUninitialized(dtype, h * m, len);
        INDArray im = Nd4j.createUninitialized(dtype, h * m, len);
        Ops.matmul(Shapes.contiguous(dtA.re()).reshape(h * m, 1), k, re, false, false);
        Ops.matmul(Shapes.contiguous(dtA.im()).reshape(h * m, 1), k, im, false, false);
        return Cx.exp(new Cx(re.reshape(h, m, len), im.reshape(h, m, len)));
    }

    /** Ā^len = exp(len·ΔA), [H, M]. */
    public static Cx power(Cx dtA, long len) {
        return Cx.exp(dtA.mul((double) len));
    }

    /** The kernel's first W.length taps: K_k = f·Re(Σ_m C_m B̄_m W_m,k), [H, len]. */
    public static INDArray kernel(Cx c, Discrete d, Cx w, double f) {
        long h = w.re().size(0);
        long m = w.re().size(1);
        long len = w.re().size(2);
        Cx g = c.mul(d.bBar()).reshape(h, 1, m);
        INDArray k = Nd4j.createUninitialized(w.re().dataType(), h, 1, len);
        Ops.matmul(g.re(), w.re(), k, false, false, f, 0.0);
        Ops.matmul(g.im(), w.im(), k, false, false, -f, 1.0);
        return k.reshape(h, len);
    }

    /** What a forward keeps: y [H, B, T] (including D·u), the final state, and the state entering each block. */
    public record Forward(INDArray y, Cx finalState, List<Cx> blockStates) {}

    /** The gradients of a backward: du [H, B, T], the initial state's (null without one) and the parameters'. */
    public record Gradients(
            INDArray du, Cx dState0, INDArray dLogDt, INDArray dLogAReal, INDArray dAImag, Cx dC, INDArray dD) {}

    /** The parts every pass over a window shares: the discretisation, W for one block and the kernel's spectra. */
    private record Setup(
            Discrete disc, Cx w, INDArray kIndex, FftConv fft, double[][] kernelSpectra, int block, Cx cAbar) {}

    private static Setup setup(Params p, Dims dims, long t, boolean withKernel) {
        int q = (int) Math.min(dims.chunk(), t);
        Discrete disc = zoh(p.logDt(), p.logAReal(), p.aImag());
        Cx w = powers(disc.dtA(), q);
        INDArray kIndex = Nd4j.arange(q).castTo(p.logDt().dataType()).reshape(1, 1, q);
        FftConv fft = null;
        double[][] spectra = null;
        if (withKernel) {
            fft = new FftConv(2L * q - 1);
            spectra = fft.spectra(kernel(p.c(), disc, w, dims.pairFactor()));
        }
        long h = dims.channels();
        long m = dims.modes();
        return new Setup(
                disc, w, kIndex, fft, spectra, q, p.c().mul(disc.aBar()).reshape(h, m, 1));
    }

    /**
     * The window u [H, B, T] from {@code state0} [H, M, B] (null: zeros, the sequence start): y [H, B, T] with the
     * D·u skip, the final state and (when {@code keepStates}) the state entering each block for the backward.
     */
    public static Forward forward(INDArray u, Params p, Dims dims, Cx state0, boolean keepStates) {
        long[] us = checkSignal("u", u, dims);
        long t = us[2];
        Setup s = setup(p, dims, t, true);
        double f = dims.pairFactor();
        INDArray y = Nd4j.createUninitialized(u.dataType(), us);
        INDArray d = p.d().reshape(dims.channels(), 1, 1);
        Cx bBar = s.disc().bBar().reshape(dims.channels(), dims.modes(), 1);
        List<Cx> states = new ArrayList<>();
        Cx state = state0;
        Cx fullStep = null;
        for (long t0 = 0; t0 < t; t0 += s.block()) {
            int len = (int) Math.min(s.block(), t - t0);
            Cx w = prefix(s.w(), len);
            INDArray uc = block(u, t0, len);
            INDArray yc = s.fft().convolve(s.kernelSpectra(), uc);
            yc.addi(uc.mul(d));
            if (state != null) {
                yc.addi(expand(s.cAbar().mul(state), w, false).muli(f));
            }
            if (keepStates) {
                states.add(state);
            }
            Cx next = project(w, reverse(uc)).mul(bBar);
            if (state != null) {
                Cx step = len == s.block()
                        ? (fullStep == null ? fullStep = step(s, len, dims) : fullStep)
                        : step(s, len, dims);
                next.addi(step.mul(state));
            }
            y.get(all(), all(), interval(t0, t0 + len)).assign(yc);
            state = next;
        }
        return new Forward(y, state, keepStates ? states : null);
    }

    /**
     * Adds the term of the initial state {@code state0} [H, M, B] into y [H, B, T]: y_t += f·Re(Σ_m C_m Ā_m^{t+1}
     * s_m), block by block. A window from state s equals the window from zero plus this term.
     */
    public static void addInitialState(INDArray y, Params p, Dims dims, Cx state0) {
        long[] ys = checkSignal("y", y, dims);
        long t = ys[2];
        Setup s = setup(p, dims, t, false);
        Cx state = state0;
        Cx fullStep = null;
        for (long t0 = 0; t0 < t; t0 += s.block()) {
            int len = (int) Math.min(s.block(), t - t0);
            INDArray term =
                    expand(s.cAbar().mul(state), prefix(s.w(), len), false).muli(dims.pairFactor());
            y.get(all(), all(), interval(t0, t0 + len)).addi(term);
            if (t0 + len < t) {
                Cx step = len == s.block()
                        ? (fullStep == null ? fullStep = step(s, len, dims) : fullStep)
                        : step(s, len, dims);
                state = step.mul(state);
            }
        }
    }

    /**
     * The backward of {@link #forward} (run with keepStates) for dy [H, B, T] and the final state's gradient
     * {@code dStateOut} [H, M, B] (null: none reaches it).
     */
    public static Gradients backward(INDArray u, INDArray dy, Params p, Dims dims, Forward fwd, Cx dStateOut) {
        long[] us = checkSignal("u", u, dims);
        Shapes.requireShape("dy", dy, u.dataType(), us);
        long t = us[2];
        int h = dims.channels();
        int m = dims.modes();
        double f = dims.pairFactor();
        DataType dtype = u.dataType();
        Setup s = setup(p, dims, t, true);
        Discrete disc = s.disc();
        Cx bBar = disc.bBar().reshape(h, m, 1);
        INDArray d = p.d().reshape(h, 1, 1);

        double[][] kernelGrad = s.fft().zeroSpectra(h);
        Cx gDtA = zeros(dtype, h, m, 1); // ∂L/∂(ΔA) through W, Ā^L and the kernel
        Cx gBbar = zeros(dtype, h, m, 1);
        Cx gAbar = zeros(dtype, h, m, 1);
        Cx gC = zeros(dtype, h, m, 1);
        INDArray dD = Nd4j.zeros(dtype, h, 1, 1);
        INDArray du = Nd4j.createUninitialized(dtype, us);
        Cx gState = dStateOut;
        Cx fullStep = null;

        int blocks = fwd.blockStates().size();
        for (int c = blocks - 1; c >= 0; c--) {
            long t0 = (long) c * s.block();
            int len = (int) Math.min(s.block(), t - t0);
            Cx w = prefix(s.w(), len);
            INDArray k = len == s.block()
                    ? s.kIndex()
                    : s.kIndex().get(all(), all(), interval(0, len)).dup('c');
            INDArray uc = block(u, t0, len);
            INDArray dyc = block(dy, t0, len);
            Cx state = fwd.blockStates().get(c);

            INDArray duc = s.fft().backward(s.kernelSpectra(), uc, dyc, kernelGrad);
            duc.addi(dyc.mul(d));
            dD.addi(dyc.mul(uc).sum(true, 1, 2));

            Cx gPrev = null;
            if (gState != null) {
                // next = Ā^L·state + B̄·V with V = Σ_j W_{L−1−j} u_j
                INDArray ur = reverse(uc);
                Cx v = project(w, ur);
                Cx v1 = project(w, ur.mul(k)); // Σ_k k·W_k u_{L−1−k}
                gBbar.addi(v.conjMul(gState).sum(2));
                Cx gV = bBar.conjMul(gState);
                duc.addi(reverse(expand(gV, w, true)));
                gDtA.addi(v1.conjMul(gV).sum(2));
                if (state != null) {
                    Cx pl = len == s.block()
                            ? (fullStep == null ? fullStep = step(s, len, dims) : fullStep)
                            : step(s, len, dims);
                    gDtA.addi(pl.conjMul(state.conjMul(gState).sum(2)).mul((double) len));
                    gPrev = pl.conjMul(gState);
                }
            }
            if (state != null) {
                // y_t += f·Re(Σ_m Q_m W_m,t), Q = C·Ā·state
                Cx r0 = project(w, dyc);
                Cx r1 = project(w, dyc.mul(k));
                Cx gQ = r0.conj().mul(f);
                Cx q = s.cAbar().mul(state);
                gDtA.addi(q.mul(r1).conj().sum(2).mul(f));
                gC.addi(disc.aBar().reshape(h, m, 1).mul(state).conjMul(gQ).sum(2));
                gAbar.addi(p.c().reshape(h, m, 1).mul(state).conjMul(gQ).sum(2));
                Cx toState = s.cAbar().conjMul(gQ);
                gPrev = gPrev == null ? toState : gPrev.addi(toState);
            }
            du.get(all(), all(), interval(t0, t0 + len)).assign(duc);
            gState = gPrev;
        }

        // the kernel K_k = f·Re(Σ_m G_m W_m,k), G = C·B̄
        INDArray dK = s.fft().inverse(kernelGrad, s.block(), dtype).reshape(h, 1, s.block());
        Cx s0 = project(s.w(), dK);
        Cx s1 = project(s.w(), dK.mul(s.kIndex()));
        Cx g = p.c().mul(disc.bBar()).reshape(h, m, 1);
        Cx gG = s0.conj().mul(f);
        gDtA.addi(g.mul(s1).conj().mul(f));
        gC.addi(bBar.conjMul(gG));
        gBbar.addi(p.c().reshape(h, m, 1).conjMul(gG));

        // Ā = exp(ΔA); B̄ = (exp(ΔA) − 1)/A: ∂B̄/∂(ΔA) = Ā/A, ∂B̄/∂A = −B̄/A; ΔA = Δ·A
        Cx a = disc.a().reshape(h, m, 1);
        gDtA.addi(disc.aBar().reshape(h, m, 1).conjMul(gAbar));
        gDtA.addi(disc.aBar().reshape(h, m, 1).div(a).conjMul(gBbar));
        Cx gA = bBar.div(a).conjMul(gBbar).mul(-1.0);
        INDArray dt = disc.dt().reshape(h, 1, 1);
        gA.addi(gDtA.mul(dt));
        INDArray gDt =
                gDtA.re().mul(a.re()).addi(gDtA.im().mul(a.im())).sum(1, 2).reshape(h);
        INDArray dLogDt = gDt.muli(disc.dt().reshape(h));
        INDArray dLogAReal = gA.re().mul(a.re()).reshape(h, m);
        INDArray dAImag = p.aImag() == null ? null : gA.im().reshape(h, m).dup('c');
        return new Gradients(du, gState, dLogDt, dLogAReal, dAImag, gC.reshape(h, m), dD.reshape(h));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** Ā^len as [H, M, 1]. */
    private static Cx step(Setup s, int len, Dims dims) {
        return power(s.disc().dtA(), len).reshape(dims.channels(), dims.modes(), 1);
    }

    /** Σ_k W_k v_k over the last axis: W [H, M, L], v [H, B, L] real → [H, M, B]. */
    static Cx project(Cx w, INDArray v) {
        long h = w.re().size(0);
        long m = w.re().size(1);
        long b = v.size(1);
        INDArray re = Nd4j.createUninitialized(v.dataType(), h, m, b);
        INDArray im = Nd4j.createUninitialized(v.dataType(), h, m, b);
        Ops.matmul(w.re(), v, re, false, true);
        Ops.matmul(w.im(), v, im, false, true);
        return new Cx(re, im);
    }

    /** Re(Σ_m g_m W_m,t) (or Re(Σ_m conj(g_m) W_m,t)): g [H, M, B], W [H, M, L] → [H, B, L]. */
    static INDArray expand(Cx g, Cx w, boolean conjugateG) {
        long h = w.re().size(0);
        long b = g.re().size(2);
        long len = w.re().size(2);
        INDArray out = Nd4j.createUninitialized(w.re().dataType(), h, b, len);
        Ops.matmul(g.re(), w.re(), out, true, false, 1.0, 0.0);
        Ops.matmul(g.im(), w.im(), out, true, false, conjugateG ? 1.0 : -1.0, 1.0);
        return out;
    }

    /** The first len columns of W (W itself when it has len). */
    private static Cx prefix(Cx w, int len) {
        if (w.re().size(2) == len) {
            return w;
        }
        return new Cx(
                w.re().get(all(), all(), interval(0, len)).dup('c'),
                w.im().get(all(), all(), interval(0, len)).dup('c'));
    }

    /** Times [t0, t0 + len) of x [H, B, T], dense. */
    private static INDArray block(INDArray x, long t0, int len) {
        if (t0 == 0 && len == x.size(2)) {
            return Shapes.contiguous(x);
        }
        return x.get(all(), all(), interval(t0, t0 + len)).dup('c');
    }

    /** x [H, B, L] reversed in time. */
    private static INDArray reverse(INDArray x) {
        INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape());
        Nd4j.exec(new Reverse(x, out, 2));
        return out;
    }

    private static Cx zeros(DataType dtype, long... shape) {
        return new Cx(Nd4j.zeros(dtype, shape), Nd4j.zeros(dtype, shape));
    }

    private static long[] checkSignal(String name, INDArray x, Dims dims) {
        long[] s = Shapes.requireRank(name, x, 3);
        Shapes.require(
                s[0] == dims.channels() && s[2] >= 1,
                "tensor '%s': expected shape [%d, batch, T >= 1] but found %s",
                name,
                dims.channels(),
                java.util.Arrays.toString(s));
        return s;
    }
}
