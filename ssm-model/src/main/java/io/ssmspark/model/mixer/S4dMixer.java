package io.ssmspark.model.mixer;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.layers.Activations;
import io.ssmspark.model.layers.Linear;
import io.ssmspark.model.s4d.Cx;
import io.ssmspark.model.s4d.S4dInit;
import io.ssmspark.model.s4d.S4dKernel;
import io.ssmspark.model.tensor.Shapes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The S4D layer (ssm_cfg.layer "S4D"; Gu et al., "On the Parameterization and Initialization of Diagonal State
 * Space Models", and state-spaces' minimal s4d.py) as a mixer on x [batch, T, d_model]:
 *
 * <pre>
 *   y   = S4D_H(x) + D·x          one diagonal LTI SSM per channel, H = d_model channels ({@link S4dKernel})
 *   a   = gelu(y)                  exact (erf) GELU
 *   [p | q] = a · Wᵀ + b           output_linear: d_model → 2·d_model, with bias
 *   out = p · σ(q)                 GLU
 * </pre>
 *
 * The SSM runs straight on the block's normed input (no input projection): S4D's own block, in which the GLU
 * output projection does the channel mixing. B is fixed at 1, as in s4d.py: in a diagonal LTI SSM only the products
 * C_n·B_n reach the output, so a learnable B adds parameters and no function. Parameters (after "mixer."), in
 * s4d.py's names: D [H], kernel.C [H, M, 2] (complex modes; real and imaginary parts) or [H, M] (real modes),
 * kernel.log_dt [H], kernel.log_A_real [H, M], kernel.A_imag [H, M] (complex modes only), output_linear.0.weight
 * [2H, H, 1] and output_linear.0.bias [2H]; M = N/2 conjugate pairs or N real modes.
 *
 * <p>A whole window runs in the convolution mode (FFT, in blocks of ssm_cfg.chunk_size); one token ({@link #step})
 * runs the recurrence h ← Ā h + B̄ u. The carry is the SSM state [batch, H, M, 2] (real and imaginary parts; 0 for
 * real modes), and across segments the summary is (α = Ā^T, E = the state reached from zero), combined as
 * S_out = α·S_in + E in complex arithmetic.
 */
public final class S4dMixer implements Mixer {

    /**
     * ssm_cfg.layer "S4D": s4d.py's parameters and initialisation. C ~ complex N(0, 1) (real and imaginary parts
     * N(0, 1/2); real modes N(0, 1)), log_dt ~ U(ln dt_min, ln dt_max), A from ssm_cfg.init ({@link S4dInit}),
     * D ~ N(0, 1), output_linear as PyTorch's Conv1d(H, 2H, 1) default, U(±1/√H) for weight and bias. Only the
     * output_linear weight is decayed by AdamW (the project's rule: Linear and Conv weights decay, SSM parameters,
     * D and biases do not).
     */
    public static final MixerFamily FAMILY = new MixerFamily() {
        @Override
        public List<MixerParameter> parameters(MambaConfig c) {
            Spec s = Spec.of(c);
            int h = s.dModel();
            int m = s.modes();
            SsmConfig ssm = c.ssm();
            double[] re = S4dInit.real(s.init(), s.dState());
            double[] im = S4dInit.imag(s.init(), s.dState());
            List<MixerParameter> p = new ArrayList<>();
            p.add(MixerParameter.plain("D", gaussian(1.0), h));
            p.add(MixerParameter.plain("kernel.C", gaussian(s.complex() ? Math.sqrt(0.5) : 1.0), s.cShape()));
            double logMin = Math.log(ssm.dtMin());
            double logMax = Math.log(ssm.dtMax());
            p.add(MixerParameter.plain(
                    "kernel.log_dt",
                    (n, rnd, scale) -> {
                        double[] v = new double[n];
                        for (int i = 0; i < n; i++) {
                            v[i] = logMin + rnd.nextDouble() * (logMax - logMin);
                        }
                        return v;
                    },
                    h));
            p.add(MixerParameter.plain("kernel.log_A_real", perMode(re, v -> Math.log(-v)), h, m));
            if (s.complex()) {
                p.add(MixerParameter.plain("kernel.A_imag", perMode(im, v -> v), h, m));
            }
            p.add(MixerParameter.weight("output_linear.0.weight", ParameterInit.linear(h), 2L * h, h, 1));
            p.add(MixerParameter.plain("output_linear.0.bias", ParameterInit.uniform(1.0 / Math.sqrt(h)), 2L * h));
            return p;
        }

        @Override
        public Mixer create(MambaConfig c, Function<String, INDArray> t) {
            INDArray w = t.apply("output_linear.0.weight");
            return new S4dMixer(
                    new Weights(
                            t.apply("D"),
                            t.apply("kernel.C"),
                            t.apply("kernel.log_dt"),
                            t.apply("kernel.log_A_real"),
                            t.apply("kernel.A_imag"),
                            w == null ? null : w.reshape('c', w.size(0), w.size(1)), // (2H, H, 1) viewed as [2H, H]
                            t.apply("output_linear.0.bias")),
                    Spec.of(c));
        }
    };

    /** N(0, std²) draws. */
    private static ParameterInit gaussian(double std) {
        return (n, rnd, scale) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = std * rnd.nextGaussian();
            }
            return v;
        };
    }

    /** The same per-mode value in every channel: value[i % M] mapped. */
    private static ParameterInit perMode(double[] values, java.util.function.DoubleUnaryOperator map) {
        return (n, rnd, scale) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = map.applyAsDouble(values[i % values.length]);
            }
            return v;
        };
    }

    /** The mixer's sizes: H = d_model channels, state size N, the init (complex or real modes), the block length. */
    public record Spec(int dModel, int dState, S4dConfig.Init init, int chunk) {

        public Spec {
            java.util.Objects.requireNonNull(init, "S4D init");
            if (dModel < 1 || dState < 1 || chunk < 1 || (init.complex() && dState % 2 != 0)) {
                throw new IllegalArgumentException("S4D spec: d_model, d_state and chunk must be >= 1 (and d_state"
                        + " even for complex modes), found " + dModel + ", " + dState + ", " + chunk);
            }
        }

        public static Spec of(MambaConfig c) {
            SsmConfig s = c.ssm();
            if (s.s4d() == null) {
                throw new IllegalArgumentException("ssm_cfg.layer \"" + s.layer() + "\" is not S4D");
            }
            return new Spec(c.dModel(), s.dState(), s.s4d().init(), s.chunkSize());
        }

        /** Whether the modes are conjugate pairs. */
        public boolean complex() {
            return init.complex();
        }

        /** M: N/2 conjugate pairs or N real modes. */
        public int modes() {
            return complex() ? dState / 2 : dState;
        }

        /** kernel.C's shape: [H, M, 2] or [H, M]. */
        public long[] cShape() {
            return complex() ? new long[] {dModel, modes(), 2} : new long[] {dModel, modes()};
        }

        public S4dKernel.Dims dims() {
            return new S4dKernel.Dims(dModel, modes(), complex(), chunk);
        }
    }

    /**
     * The parameters or, as the gradients of a backward, their accumulators (any may be null there: skipped):
     * D [H], C [H, M, 2] or [H, M], log_dt [H], log_A_real [H, M], A_imag [H, M] (null for real modes),
     * outWeight [2H, H] (the checkpoint's (2H, H, 1) viewed), outBias [2H].
     */
    public record Weights(
            INDArray d,
            INDArray c,
            INDArray logDt,
            INDArray logAReal,
            INDArray aImag,
            INDArray outWeight,
            INDArray outBias) {}

    /** The SSM state [batch, H, M, 2] (real and imaginary parts); null means zeros (the sequence start). */
    public record Carry(INDArray state) implements Mixer.Carry {
        @Override
        public long batch() {
            return state == null ? -1 : state.size(0);
        }

        @Override
        public Carry map(UnaryOperator<INDArray> f) {
            return new Carry(state == null ? null : f.apply(state));
        }
    }

    /** A forward's result: out [batch, T, d], the carry-out, and what the backward reuses. */
    public static final class Output implements Mixer.Window {
        private final INDArray out;
        private final Carry carryOut;
        final INDArray u; // [H, B, T] the input, channel-major
        final S4dKernel.Forward core; // y before the activation, block states
        final INDArray yPre; // [rows, H] SSM output with D·u
        final INDArray act; // [rows, H] gelu(yPre)
        final INDArray z; // [rows, 2H] output_linear's output

        private Output(
                INDArray out,
                Carry carryOut,
                INDArray u,
                S4dKernel.Forward core,
                INDArray yPre,
                INDArray act,
                INDArray z) {
            this.out = out;
            this.carryOut = carryOut;
            this.u = u;
            this.core = core;
            this.yPre = yPre;
            this.act = act;
            this.z = z;
        }

        @Override
        public INDArray out() {
            return out;
        }

        @Override
        public Carry carryOut() {
            return carryOut;
        }
    }

    /** dx [batch, T, d] and the carry-in's gradient (null without a carry-in state). */
    public record Gradients(INDArray dx, Carry dCarryIn) {}

    private final Weights weights;
    private final Spec spec;

    /** Layer weights {@code weights} (or, as the {@code gradients} of a backward, their accumulators). */
    public S4dMixer(Weights weights, Spec spec) {
        this.weights = weights;
        this.spec = spec;
    }

    public Weights weights() {
        return weights;
    }

    public Spec spec() {
        return spec;
    }

    // ---- the kernels on explicit weights ----------------------------------------------------------------------

    /** The SSM's parameters as the kernel reads them (C as a complex [H, M]). */
    static S4dKernel.Params params(Weights w, Spec s) {
        INDArray c = w.c();
        Cx cx = s.complex()
                ? new Cx(
                        c.get(all(), all(), point(0)).dup('c'),
                        c.get(all(), all(), point(1)).dup('c'))
                : Cx.real(c.dup('c'));
        return new S4dKernel.Params(w.logDt(), w.logAReal(), s.complex() ? w.aImag() : null, cx, w.d());
    }

    /**
     * Runs the mixer on x [batch, T, d] from {@code carryIn} (null or a null state: the sequence start); {@code keep}
     * keeps what {@link #backward} needs.
     */
    public static Output forward(INDArray x, Weights w, Spec s, Carry carryIn, boolean keep) {
        check(x, w, s, carryIn);
        INDArray u = channelMajor(x);
        Cx state0 = carryIn == null || carryIn.state() == null ? null : stateCx(carryIn.state());
        S4dKernel.Forward core = S4dKernel.forward(u, params(w, s), s.dims(), state0, keep);
        Post post = post(core.y(), w, s);
        return new Output(
                post.out(),
                new Carry(stateArray(core.finalState())),
                keep ? u : null,
                keep ? core : null,
                post.yPre(),
                post.act(),
                post.z());
    }

    /** What follows the SSM, on y [H, B, T]: gelu, output_linear, GLU. */
    private record Post(INDArray out, INDArray yPre, INDArray act, INDArray z) {}

    private static Post post(INDArray y, Weights w, Spec s) {
        long h = y.size(0);
        long b = y.size(1);
        long t = y.size(2);
        INDArray yPre = y.permute(1, 2, 0).dup('c').reshape(b * t, h);
        INDArray act = Activations.gelu(yPre);
        INDArray z = Linear.forward(act, w.outWeight(), w.outBias());
        INDArray gate = Transforms.sigmoid(z.get(all(), interval(h, 2 * h)), true);
        INDArray out = gate.muli(z.get(all(), interval(0, h))).reshape(b, t, h);
        return new Post(out, yPre, act, z);
    }

    /**
     * Backward of {@link #forward} (run with keep): adds the parameter gradients into the non-null accumulators of
     * {@code grads} and returns dx and the carry-in's gradient. {@code dCarryOut} (may be null) is the gradient
     * reaching the carry-out from later windows.
     */
    public static Gradients backward(
            INDArray x, Weights w, Spec s, Output fwd, INDArray dOut, Carry dCarryOut, Weights grads) {
        long[] xs = x.shape();
        Shapes.requireShape("dOut", dOut, x.dataType(), xs);
        if (fwd.core == null) {
            throw new IllegalArgumentException("S4D backward: the forward kept nothing (run it with keep)");
        }
        long b = xs[0];
        long t = xs[1];
        long h = s.dModel();
        long rows = b * t;
        INDArray d2 = Shapes.contiguous(dOut).reshape(rows, h);
        INDArray p = fwd.z.get(all(), interval(0, h));
        INDArray gate = Transforms.sigmoid(fwd.z.get(all(), interval(h, 2 * h)), true);
        INDArray dz = Nd4j.createUninitialized(x.dataType(), rows, 2 * h);
        dz.get(all(), interval(0, h)).assign(d2.mul(gate));
        dz.get(all(), interval(h, 2 * h)).assign(d2.mul(p).muli(gate).muli(gate.rsub(1.0)));
        INDArray dAct = Linear.backward(fwd.act, w.outWeight(), dz, grads.outWeight(), grads.outBias());
        INDArray dy = dAct.muli(Activations.geluGrad(fwd.yPre))
                .reshape(b, t, h)
                .permute(2, 0, 1)
                .dup('c');

        Cx dStateOut = dCarryOut == null || dCarryOut.state() == null ? null : stateCx(dCarryOut.state());
        S4dKernel.Gradients g = S4dKernel.backward(fwd.u, dy, params(w, s), s.dims(), fwd.core, dStateOut);
        addInto(grads.d(), g.dD());
        addInto(grads.logDt(), g.dLogDt());
        addInto(grads.logAReal(), g.dLogAReal());
        if (s.complex()) {
            addInto(grads.aImag(), g.dAImag());
            if (grads.c() != null) {
                grads.c().get(all(), all(), point(0)).addi(g.dC().re());
                grads.c().get(all(), all(), point(1)).addi(g.dC().im());
            }
        } else {
            addInto(grads.c(), g.dC().re());
        }
        INDArray dx = g.du().permute(1, 2, 0).dup('c');
        return new Gradients(dx, g.dState0() == null ? null : new Carry(stateArray(g.dState0())));
    }

    /**
     * The recurrent mode on ONE token per sequence, x [batch, d] → out [batch, d]: h ← Ā h + B̄ u,
     * y = f·Re(Σ_m C_m h_m) + D u, then the same activation and output projection; {@code state} [batch, H, M, 2]
     * advances in place.
     */
    public static INDArray step(INDArray x, Weights w, Spec s, INDArray state) {
        long b = x.size(0);
        int h = s.dModel();
        int m = s.modes();
        Shapes.requireShape("S4D step input x", x, x.dataType(), b, h);
        Shapes.requireShape("S4D carry state", state, x.dataType(), b, h, m, 2);
        S4dKernel.Params p = params(w, s);
        S4dKernel.Discrete d = S4dKernel.zoh(p.logDt(), p.logAReal(), p.aImag());
        Cx st = new Cx(state.get(all(), all(), all(), point(0)), state.get(all(), all(), all(), point(1)));
        INDArray u = x.reshape(b, h, 1);
        Cx next =
                d.aBar().reshape(1, h, m).mul(st).addi(d.bBar().reshape(1, h, m).mul(u));
        INDArray y = p.c().reshape(1, h, m)
                .mul(next)
                .re()
                .sum(2)
                .muli(s.dims().pairFactor())
                .addi(x.mul(p.d().reshape(1, h)));
        state.get(all(), all(), all(), point(0)).assign(next.re());
        state.get(all(), all(), all(), point(1)).assign(next.im());
        // y [b, H] as the channel-major [H, b, 1] that post reads
        return post(y.transpose().dup('c').reshape(h, b, 1), w, s).out().reshape(b, h);
    }

    // ---- Mixer --------------------------------------------------------------------------------------------------

    @Override
    public String kind() {
        return "s4d";
    }

    @Override
    public LayerTimings.Part timingPart() {
        return LayerTimings.Part.S4D_MIXER;
    }

    @Override
    public Output forward(INDArray x, long position, Mixer.Carry carryIn, LayerTimings timings) {
        return forward(x, weights, spec, (Carry) carryIn, true);
    }

    @Override
    public Output infer(INDArray x, long position, Mixer.Carry carryIn) {
        return forward(x, weights, spec, (Carry) carryIn, false);
    }

    @Override
    public Mixer.Gradients backward(
            INDArray x,
            Mixer.Window forward,
            INDArray dOut,
            Mixer.Carry dCarryOut,
            Mixer gradients,
            LayerTimings timings) {
        Gradients g =
                backward(x, weights, spec, (Output) forward, dOut, (Carry) dCarryOut, ((S4dMixer) gradients).weights);
        return new Mixer.Gradients(g.dx(), g.dCarryIn());
    }

    /** One token; a null carry (or state) starts from zeros, else the state advances in place. */
    @Override
    public Mixer.Result step(INDArray x, long position, Mixer.Carry carry) {
        Carry c = (Carry) carry;
        INDArray state = c == null || c.state() == null
                ? Nd4j.zeros(x.dataType(), x.size(0), spec.dModel(), spec.modes(), 2)
                : c.state();
        return new Mixer.Result(step(x, weights, spec, state), new Carry(state));
    }

    /** S4D reads no rows of earlier tokens: everything it needs from them is in the state. */
    @Override
    public int haloRows() {
        return 0;
    }

    @Override
    public INDArray[] halo(INDArray x, long position) {
        return new INDArray[0];
    }

    @Override
    public boolean carriesState() {
        return true;
    }

    /** The segment from a zero state: y before the activation, and the summary (α = Ā^T, E). */
    @Override
    public Mixer.Segment fromZeroState(INDArray x, long position, INDArray[] halo) {
        check(x, weights, spec, null);
        S4dKernel.Params p = params(weights, spec);
        S4dKernel.Forward core = S4dKernel.forward(channelMajor(x), p, spec.dims(), null, false);
        S4dKernel.Discrete d = S4dKernel.zoh(p.logDt(), p.logAReal(), p.aImag());
        Cx alpha = S4dKernel.power(d.dtA(), x.size(1));
        return new ZeroStatePart(
                core.y(), flat(alpha.reshape(spec.dModel(), spec.modes(), 1)), flat(core.finalState()));
    }

    /** S_out = α·S_in + E per (channel, mode), in complex arithmetic on the [1, H·M·2] (re, im) layout. */
    @Override
    public INDArray passState(INDArray state, INDArray[] summary) {
        INDArray e = summary[1];
        if (state == null) {
            return e;
        }
        long n = e.length() / 2;
        INDArray a = summary[0].reshape(n, 2);
        INDArray s = Shapes.contiguous(state).reshape(n, 2);
        Cx out = new Cx(a.get(all(), point(0)), a.get(all(), point(1)))
                .mul(new Cx(s.get(all(), point(0)), s.get(all(), point(1))));
        INDArray r = Shapes.contiguous(e).reshape(n, 2).dup('c');
        r.get(all(), point(0)).addi(out.re());
        r.get(all(), point(1)).addi(out.im());
        return r.reshape(1, 2 * n);
    }

    /** The state [1, H, M, 2]; S4D reads no halo. */
    @Override
    public Carry carry(INDArray[] halo, INDArray state) {
        Shapes.require(halo == null || halo.length == 0, "an S4D layer reads no halo");
        return new Carry(state == null ? null : Shapes.contiguous(state).reshape(1, spec.dModel(), spec.modes(), 2));
    }

    @Override
    public INDArray[] haloOf(Mixer.Carry c, int rows) {
        return null;
    }

    @Override
    public INDArray stateOf(Mixer.Carry c) {
        return c == null ? null : Shapes.asRow(((Carry) c).state());
    }

    /**
     * S_out = α·S_in + E is complex; on the (re, im) layout its Jacobian is [[a, −b], [b, a]] per entry, whose
     * transpose multiplies by conj(α): dS_in = conj(α)·dS_out.
     */
    @Override
    public INDArray passStateGradient(INDArray dStateOut, INDArray[] summary) {
        long n = dStateOut.length() / 2;
        INDArray a = summary[0].reshape(n, 2);
        INDArray g = Shapes.contiguous(dStateOut).reshape(n, 2);
        Cx out = new Cx(a.get(all(), point(0)), a.get(all(), point(1)).neg())
                .mul(new Cx(g.get(all(), point(0)), g.get(all(), point(1))));
        INDArray r = g.like();
        r.get(all(), point(0)).assign(out.re());
        r.get(all(), point(1)).assign(out.im());
        return r.reshape(1, 2 * n);
    }

    /** y = y0 + f·Re(Σ_m C_m Ā_m^{t+1} S_in,m), then gelu, output_linear and GLU; out [1, T, d]. */
    @Override
    public INDArray finish(Mixer.Segment part, INDArray initialState) {
        ZeroStatePart z = (ZeroStatePart) part;
        INDArray y = z.y();
        if (initialState != null) {
            Shapes.requireShape("initial S4D state", initialState, y.dataType(), 1, 2L * spec.dModel() * spec.modes());
            S4dKernel.addInitialState(
                    y,
                    params(weights, spec),
                    spec.dims(),
                    stateCx(initialState.reshape(1, spec.dModel(), spec.modes(), 2)));
        }
        return post(y, weights, spec).out();
    }

    /** A segment's SSM output from a zero state, y0 [H, 1, T], and its summary α, E as [1, H·M·2]. */
    private record ZeroStatePart(INDArray y, INDArray alpha, INDArray e) implements Mixer.Segment {
        @Override
        public INDArray[] summary() {
            return new INDArray[] {alpha, e};
        }
    }

    // ---- layouts ------------------------------------------------------------------------------------------------

    /** x [B, T, H] as u [H, B, T]. */
    private static INDArray channelMajor(INDArray x) {
        return Shapes.contiguous(x).permute(2, 0, 1).dup('c');
    }

    /** A carry state [B, H, M, 2] as a complex [H, M, B]. */
    private static Cx stateCx(INDArray state) {
        return new Cx(
                state.get(all(), all(), all(), point(0)).permute(1, 2, 0).dup('c'),
                state.get(all(), all(), all(), point(1)).permute(1, 2, 0).dup('c'));
    }

    /** A complex [H, M, B] as a carry state [B, H, M, 2]. */
    private static INDArray stateArray(Cx s) {
        long[] hmb = s.shape();
        INDArray out = Nd4j.createUninitialized(s.re().dataType(), hmb[2], hmb[0], hmb[1], 2);
        out.get(all(), all(), all(), point(0)).assign(s.re().permute(2, 0, 1));
        out.get(all(), all(), all(), point(1)).assign(s.im().permute(2, 0, 1));
        return out;
    }

    /** A complex [H, M, 1] as the flat (re, im) row [1, H·M·2] of a batch-1 state. */
    private static INDArray flat(Cx s) {
        INDArray a = stateArray(s);
        return a.reshape(1, a.length());
    }

    private static void addInto(INDArray accumulator, INDArray value) {
        if (accumulator != null && value != null) {
            accumulator.addi(value.reshape(accumulator.shape()));
        }
    }

    private static void check(INDArray x, Weights w, Spec s, Carry carryIn) {
        if (x == null || x.rank() != 3 || x.size(2) != s.dModel() || x.size(1) < 1) {
            throw new IllegalArgumentException("s4d mixer input x: expected shape [batch, T >= 1, " + s.dModel()
                    + "] but found " + (x == null ? "null" : Arrays.toString(x.shape())));
        }
        DataType dt = x.dataType();
        if (dt != DataType.FLOAT && dt != DataType.DOUBLE) {
            throw new IllegalArgumentException("s4d mixer input x: expected dtype FLOAT or DOUBLE but found " + dt);
        }
        if (w == null) {
            throw new IllegalArgumentException("s4d mixer weights are required but were null");
        }
        int h = s.dModel();
        int m = s.modes();
        Shapes.requireShape("D", w.d(), dt, h);
        Shapes.requireShape("kernel.C", w.c(), dt, s.cShape());
        Shapes.requireShape("kernel.log_dt", w.logDt(), dt, h);
        Shapes.requireShape("kernel.log_A_real", w.logAReal(), dt, h, m);
        if (s.complex()) {
            Shapes.requireShape("kernel.A_imag", w.aImag(), dt, h, m);
        }
        Shapes.requireShape("output_linear.0.weight", w.outWeight(), dt, 2L * h, h);
        Shapes.requireShape("output_linear.0.bias", w.outBias(), dt, 2L * h);
        if (carryIn != null && carryIn.state() != null) {
            Shapes.requireShape("carry state", carryIn.state(), dt, x.size(0), h, m, 2);
        }
    }
}
