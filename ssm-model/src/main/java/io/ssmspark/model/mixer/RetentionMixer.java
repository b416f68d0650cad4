package io.ssmspark.model.mixer;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.layers.Activations;
import io.ssmspark.model.layers.GatedRmsNorm;
import io.ssmspark.model.layers.Linear;
import io.ssmspark.model.ssd.ChunkedSsd;
import io.ssmspark.model.ssd.SegmentSummary;
import io.ssmspark.model.ssd.SsdGradients;
import io.ssmspark.model.ssd.SsdInputs;
import io.ssmspark.model.ssd.SsdResult;
import io.ssmspark.model.ssd.SsdStep;
import io.ssmspark.model.tensor.Shapes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * RetNet's multi-scale retention (Sun et al. 2023) on x [batch, T, d_model], {@code ssm_cfg.layer: "RetNet"}:
 *
 * <pre>
 *   q = x·q_projᵀ,  k = x·k_projᵀ · d_k^(−1/2),  v = x·v_projᵀ      H heads; q, k of d_k = d_model/H, v of d_v
 *   o_t = Σ_{s ≤ t} γ_h^(t−s) (q_t·k_s) v_s                          per head h, γ_h = 1 − 2^(−5−h), fixed
 *   y   = swish(x·g_projᵀ) ⊙ GroupNorm_h(o)                          gate and norm each optional (config flags)
 *   out = y·out_projᵀ
 * </pre>
 *
 * GroupNorm_h is an RMSNorm over each head's d_v channels without an affine weight (torchscale's group_norm);
 * without a norm and gate y = o. Unlike torchscale there is no xPos rotation of q and k, and none of its
 * normalisations of the parallel form (the group norm removes them up to eps).
 *
 * <p>Retention is SSD with a fixed decay (DESIGN.md, "SSD"): x = v (P = d_v), B = k and C = q (N = d_k, one group
 * per head), dt = 1 and A_h = ln γ_h, no D. So the window runs the chunked SSD kernel ({@link ChunkedSsd}), its
 * backward takes dx, dB, dC from the kernel's (ddt and dA are dropped: the decay is not a parameter), {@link #step}
 * is {@link SsdStep}, and segments pass the state through {@link SegmentSummary} with α_h = γ_h^T. The state per
 * head is SSD's [P, N] = [d_v, d_k], S_t = γ S_{t−1} + v_t k_tᵀ and o_t = S_t q_t (the transpose of the paper's
 * S = Σ kᵀv). There is no conv, so a segment reads no rows of earlier segments ({@link #haloRows} 0).
 */
public final class RetentionMixer implements Mixer {

    /**
     * ssm_cfg.layer "RetNet": torchscale's MultiScaleRetention parameters (no bias): q_proj, k_proj [d, d], v_proj,
     * g_proj (with the gate) [H·d_v, d], out_proj [d, H·d_v]. q, k, v and g start as torchscale's
     * xavier_uniform(gain 2^−2.5); out_proj as every mixer's out_proj of the backbone (mamba_ssm's
     * rescale_prenorm_residual: nn.Linear's init divided by √(n_residuals · n_layer)).
     */
    public static final MixerFamily FAMILY = new MixerFamily() {
        @Override
        public List<MixerParameter> parameters(MambaConfig c) {
            Spec s = Spec.of(c);
            int d = s.dModel();
            List<MixerParameter> p = new ArrayList<>();
            p.add(MixerParameter.weight("q_proj.weight", xavier(d, s.qkWidth()), s.qkWidth(), d));
            p.add(MixerParameter.weight("k_proj.weight", xavier(d, s.qkWidth()), s.qkWidth(), d));
            p.add(MixerParameter.weight("v_proj.weight", xavier(d, s.vWidth()), s.vWidth(), d));
            if (s.gate()) {
                p.add(MixerParameter.weight("g_proj.weight", xavier(d, s.vWidth()), s.vWidth(), d));
            }
            p.add(MixerParameter.weight("out_proj.weight", ParameterInit.residualLinear(s.vWidth()), d, s.vWidth()));
            return p;
        }

        @Override
        public Mixer create(MambaConfig c, Function<String, INDArray> t) {
            return new RetentionMixer(
                    new Weights(
                            t.apply("q_proj.weight"),
                            t.apply("k_proj.weight"),
                            t.apply("v_proj.weight"),
                            t.apply("g_proj.weight"),
                            t.apply("out_proj.weight")),
                    Spec.of(c));
        }
    };

    /** torchscale's gain for q, k, v and g: xavier_uniform_(gain = 2^−2.5). */
    static final double XAVIER_GAIN = Math.pow(2, -2.5);

    /** xavier_uniform: U(±gain·√(6 / (fan_in + fan_out))). */
    private static ParameterInit xavier(long fanIn, long fanOut) {
        return ParameterInit.uniform(XAVIER_GAIN * Math.sqrt(6.0 / (fanIn + fanOut)));
    }

    /**
     * The mixer's sizes: H heads of key dimension d_k and value dimension d_v, the chunk length of the kernel, and
     * whether it has the group norm (with its eps) and the gate.
     */
    public record Spec(
            int dModel,
            int heads,
            int keyDim,
            int valueDim,
            int chunkSize,
            boolean groupNorm,
            boolean gate,
            double groupNormEps) {

        public Spec {
            Shapes.require(
                    dModel >= 1 && heads >= 1 && keyDim >= 1 && valueDim >= 1 && chunkSize >= 1,
                    "retention sizes: expected d_model, heads, d_k, d_v and chunk >= 1 but found %d, %d, %d, %d, %d",
                    dModel,
                    heads,
                    keyDim,
                    valueDim,
                    chunkSize);
            Shapes.require(
                    groupNormEps > 0 && Double.isFinite(groupNormEps),
                    "retention group_norm_eps: expected a finite value > 0 but found %s",
                    groupNormEps);
        }

        /** The sizes of a RetNet config; the chunk is capped as Mamba2's ({@link Mamba2Mixer.Spec#of}). */
        public static Spec of(MambaConfig c) {
            RetNetConfig r = c.ssm().retNet();
            if (r == null) {
                throw new IllegalArgumentException("ssm_cfg.layer is \""
                        + c.ssm().layer() + "\", not \"" + RetNetConfig.LAYER + "\": no retention settings");
            }
            return new Spec(
                    c.dModel(),
                    r.numHeads(),
                    r.keyDim(c.dModel()),
                    r.valueDim(c.dModel()),
                    Math.min(c.ssm().chunkSize(), Mamba2Mixer.Spec.KERNEL_CHUNK_CAP),
                    r.groupNorm(),
                    r.gate(),
                    r.groupNormEps());
        }

        /** Width of q and k: H·d_k. */
        public int qkWidth() {
            return heads * keyDim;
        }

        /** Width of v, g and the retention output: H·d_v. */
        public int vWidth() {
            return heads * valueDim;
        }

        /** The kernel state's shape for {@code batch} sequences: [batch, H, d_v, d_k]. */
        public long[] stateShape(long batch) {
            return new long[] {batch, heads, valueDim, keyDim};
        }
    }

    /**
     * The parameters (PyTorch layout) or, in backward, their gradient accumulators: q_proj, k_proj [H·d_k, d],
     * v_proj [H·d_v, d], g_proj [H·d_v, d] (null without the gate), out_proj [d, H·d_v]. In backward any
     * accumulator may be null (skipped).
     */
    public record Weights(INDArray qProj, INDArray kProj, INDArray vProj, INDArray gProj, INDArray outProj) {}

    /** The retention state between calls, [batch, H, d_v, d_k]; null on input: zeros, the sequence start. */
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

    /** The forward's result: out [batch, T, d], the carry-out, and what the backward reuses. */
    public static final class Output implements Mixer.Window {
        private final INDArray out;
        private final Carry carryOut;
        final INDArray stateIn; // [b, H, d_v, d_k] or null
        final SsdInputs ssdInputs; // v, dt = 1, ln γ, k (scaled), q
        final INDArray y; // [rows, H·d_v] retention output
        final INDArray g; // [rows, H·d_v] gate before swish, null without the gate
        final INDArray gated; // [rows, H·d_v] input of out_proj

        private Output(
                INDArray out,
                Carry carryOut,
                INDArray stateIn,
                SsdInputs ssdInputs,
                INDArray y,
                INDArray g,
                INDArray gated) {
            this.out = out;
            this.carryOut = carryOut;
            this.stateIn = stateIn;
            this.ssdInputs = ssdInputs;
            this.y = y;
            this.g = g;
            this.gated = gated;
        }

        @Override
        public INDArray out() {
            return out;
        }

        /** The state after the window's last token. */
        @Override
        public Carry carryOut() {
            return carryOut;
        }
    }

    /** dx [batch, T, d] and the gradient of the carry-in state. */
    public record Gradients(INDArray dx, Carry dCarryIn) {}

    private final Weights weights;
    private final Spec spec;

    /** Layer weights {@code weights} (or, as the {@code gradients} of a backward, their accumulators). */
    public RetentionMixer(Weights weights, Spec spec) {
        this.weights = weights;
        this.spec = spec;
    }

    public Weights weights() {
        return weights;
    }

    public Spec spec() {
        return spec;
    }

    // ---- the retention kernel: SSD with dt = 1 and A = ln γ --------------------------------------------------

    /** γ_h = 1 − 2^(−5−h) for h = 0..H−1: RetNet's fixed per-head decays. */
    public static double[] decays(int heads) {
        double[] g = new double[heads];
        for (int h = 0; h < heads; h++) {
            g[h] = 1 - Math.pow(2, -5 - h);
        }
        return g;
    }

    /** A_h = ln γ_h = ln(1 − 2^(−5−h)) [H] in {@code dtype}, computed as log1p so it stays exact for large h. */
    public static INDArray logDecays(int heads, DataType dtype) {
        double[] a = new double[heads];
        for (int h = 0; h < heads; h++) {
            a[h] = Math.log1p(-Math.pow(2, -5 - h));
        }
        return Nd4j.createFromArray(a).castTo(dtype);
    }

    /**
     * The SSD problem of retention: x = v [b, T, H, d_v], dt = 1, A = ln γ, B = k and C = q [b, T, H, d_k] (k already
     * scaled), no D.
     */
    public static SsdInputs ssdInputs(INDArray q, INDArray k, INDArray v) {
        long b = v.size(0);
        long t = v.size(1);
        int heads = (int) v.size(2);
        return new SsdInputs(v, Nd4j.ones(v.dataType(), b, t, heads), logDecays(heads, v.dataType()), k, q, null);
    }

    /**
     * Retention o_t = Σ_{s ≤ t} γ^(t−s) (q_t·k_s) v_s + γ^(t+1)·S_0 q_t by the chunked SSD kernel (chunk length
     * {@code chunk}): q, k [b, T, H, d_k], v [b, T, H, d_v], initialState [b, H, d_v, d_k] or null (zeros). Returns o
     * [b, T, H, d_v], the final state and the log-decay T·ln γ.
     */
    public static SsdResult retention(INDArray q, INDArray k, INDArray v, int chunk, INDArray initialState) {
        return ChunkedSsd.forward(ssdInputs(q, k, v), chunk, initialState);
    }

    /**
     * One token of retention, the recurrent form: S ← γ·S + v kᵀ, o = S q (q, k [b, H, d_k], v [b, H, d_v]);
     * {@code state} [b, H, d_v, d_k] (dense) advances in place. Returns o [b, H, d_v].
     */
    public static INDArray retentionStep(INDArray q, INDArray k, INDArray v, INDArray state) {
        int heads = (int) v.size(1);
        return SsdStep.step(
                v, Nd4j.ones(v.dataType(), v.size(0), heads), logDecays(heads, v.dataType()), k, q, null, state);
    }

    // ---- the mixer on explicit weights -----------------------------------------------------------------------

    /** q, k (scaled by d_k^−1/2) [b, T, H, d_k], v [b, T, H, d_v] and the gate's pre-activation [rows, H·d_v]. */
    private record Projected(INDArray q, INDArray k, INDArray v, INDArray g) {}

    private static Projected project(INDArray x2, Weights w, Spec s, long b, long t) {
        INDArray q = Linear.forward(x2, w.qProj(), null).reshape(b, t, s.heads(), s.keyDim());
        INDArray k = Linear.forward(x2, w.kProj(), null).muli(keyScale(s)).reshape(b, t, s.heads(), s.keyDim());
        INDArray v = Linear.forward(x2, w.vProj(), null).reshape(b, t, s.heads(), s.valueDim());
        INDArray g = s.gate() ? Linear.forward(x2, w.gProj(), null) : null;
        return new Projected(q, k, v, g);
    }

    /** d_k^−1/2, torchscale's scaling of the keys. */
    static double keyScale(Spec s) {
        return 1.0 / Math.sqrt(s.keyDim());
    }

    /** Runs the mixer on x [batch, T, d]; {@code carryIn} may be null (the sequence start). */
    public static Output forward(INDArray x, Weights w, Spec s, Carry carryIn) {
        return forward(x, w, s, carryIn, null);
    }

    static Output forward(INDArray x, Weights w, Spec s, Carry carryIn, LayerTimings timings) {
        INDArray stateIn = carryIn == null ? null : carryIn.state();
        long[] xs = check(x, w, s, stateIn);
        long b = xs[0];
        long t = xs[1];
        long rows = b * t;
        Projected p = project(Shapes.contiguous(x).reshape(rows, s.dModel()), w, s, b, t);
        SsdInputs in = ssdInputs(p.q(), p.k(), p.v());
        long start = timings == null ? 0 : System.nanoTime();
        SsdResult r = ChunkedSsd.forward(in, s.chunkSize(), stateIn);
        if (timings != null) {
            timings.addForward(LayerTimings.Part.SSD, start);
        }
        INDArray y = Shapes.contiguous(r.y()).reshape(rows, s.vWidth());
        INDArray gated = gate(y, p.g(), s);
        INDArray out = Linear.forward(gated, w.outProj(), null).reshape(b, t, s.dModel());
        return new Output(out, new Carry(r.finalState()), stateIn, in, y, p.g(), gated);
    }

    /** swish(g) ⊙ GroupNorm_h(y), with either part left out when the config has none. */
    static INDArray gate(INDArray y, INDArray g, Spec s) {
        if (s.groupNorm()) {
            return GatedRmsNorm.forward(y, g, ones(s, y.dataType()), s.valueDim(), s.groupNormEps(), true);
        }
        return g == null ? y : y.mul(Activations.silu(g));
    }

    /** The norm's unit weight (the group norm has no affine weight). */
    private static INDArray ones(Spec s, DataType dtype) {
        return Nd4j.ones(dtype, s.vWidth());
    }

    /**
     * Backward of {@link #forward}: adds the parameter gradients into the non-null accumulators of {@code grads}
     * and returns dx and the carry-in state's gradient. {@code dCarryOut} (may be null) is the gradient reaching the
     * carry-out state.
     */
    public static Gradients backward(
            INDArray x, Weights w, Spec s, Output fwd, INDArray dOut, Carry dCarryOut, Weights grads) {
        return backward(x, w, s, fwd, dOut, dCarryOut, grads, null);
    }

    static Gradients backward(
            INDArray x,
            Weights w,
            Spec s,
            Output fwd,
            INDArray dOut,
            Carry dCarryOut,
            Weights grads,
            LayerTimings timings) {
        long[] xs = check(x, w, s, fwd.stateIn);
        Shapes.requireShape("dOut", dOut, x.dataType(), xs);
        long b = xs[0];
        long t = xs[1];
        long rows = b * t;
        INDArray dStateOut = dCarryOut == null ? null : dCarryOut.state();
        if (dStateOut != null) {
            Shapes.requireShape("dCarryOut.state", dStateOut, x.dataType(), s.stateShape(b));
        }

        INDArray dGated = Linear.backward(
                fwd.gated, w.outProj(), Shapes.contiguous(dOut).reshape(rows, s.dModel()), grads.outProj(), null);
        INDArray dy;
        INDArray dg = null;
        if (s.groupNorm()) {
            GatedRmsNorm.Gradients n = GatedRmsNorm.backward(
                    fwd.y, fwd.g, ones(s, x.dataType()), s.valueDim(), s.groupNormEps(), true, dGated, null);
            dy = n.dx();
            dg = n.dz();
        } else if (s.gate()) {
            Activations.Silu silu = Activations.siluWithGrad(fwd.g);
            dy = dGated.mul(silu.value());
            dg = dGated.mul(fwd.y).muli(silu.grad());
        } else {
            dy = dGated;
        }

        long start = timings == null ? 0 : System.nanoTime();
        SsdGradients sg = ChunkedSsd.backward(
                fwd.ssdInputs,
                s.chunkSize(),
                fwd.stateIn,
                Shapes.contiguous(dy).reshape(b, t, s.heads(), s.valueDim()),
                dStateOut);
        if (timings != null) {
            timings.addBackward(LayerTimings.Part.SSD, start);
        }
        // x = v, B = k·scale, C = q; ddt and dA are not used: dt = 1 and the decay are constants.
        INDArray x2 = Shapes.contiguous(x).reshape(rows, s.dModel());
        INDArray dq = Shapes.contiguous(sg.dC()).reshape(rows, s.qkWidth());
        INDArray dk = Shapes.contiguous(sg.dB()).reshape(rows, s.qkWidth()).muli(keyScale(s));
        INDArray dv = Shapes.contiguous(sg.dx()).reshape(rows, s.vWidth());
        INDArray dx = Linear.backward(x2, w.qProj(), dq, grads.qProj(), null);
        dx.addi(Linear.backward(x2, w.kProj(), dk, grads.kProj(), null));
        dx.addi(Linear.backward(x2, w.vProj(), dv, grads.vProj(), null));
        if (s.gate()) {
            dx.addi(Linear.backward(x2, w.gProj(), Shapes.contiguous(dg), grads.gProj(), null));
        }
        return new Gradients(dx.reshape(b, t, s.dModel()), new Carry(sg.dInitialState()));
    }

    /**
     * The mixer on ONE token per sequence, the recurrent form (O(1) work per token): x [batch, d] → out [batch, d];
     * {@code state} [batch, H, d_v, d_k] (dense) advances in place.
     */
    public static INDArray step(INDArray x, Weights w, Spec s, INDArray state) {
        Shapes.require(
                x != null && x.rank() == 2 && x.size(1) == s.dModel(),
                "retention step input x: expected shape [batch, %d] but found %s",
                s.dModel(),
                x == null ? "null" : Arrays.toString(x.shape()));
        long b = x.size(0);
        Projected p = project(x, w, s, b, 1);
        INDArray o = retentionStep(
                        p.q().reshape(b, s.heads(), s.keyDim()),
                        p.k().reshape(b, s.heads(), s.keyDim()),
                        p.v().reshape(b, s.heads(), s.valueDim()),
                        state)
                .reshape(b, s.vWidth());
        return Linear.forward(gate(o, p.g(), s), w.outProj(), null);
    }

    // ---- the segment split, for scoring segments of one sequence in parallel ---------------------------------
    //
    // DESIGN.md, "State passing across segments": a segment runs its retention from a zero state, giving o0 and the
    // summary (α = γ^T, E); once the exclusive scan has given its true initial state S_in, every token gains
    // γ^(t+1)·S_in q_t and the mixer finishes (norm, gate, out_proj).

    /**
     * A segment's mixer at the kernel call, run from a zero state: o0 [b, T, H, d_v], the gate's pre-activation
     * [b·T, H·d_v] (null without the gate), q [b, T, H, d_k] (all the initial-state term reads) and the summary.
     */
    public record ZeroStatePart(INDArray o0, INDArray g, INDArray q, SegmentSummary summary) {}

    /** Runs the mixer on x [b, T, d] up to and including the retention from a zero state. */
    public static ZeroStatePart fromZeroState(INDArray x, Weights w, Spec s) {
        long[] xs = check(x, w, s, null);
        Projected p = project(Shapes.contiguous(x).reshape(xs[0] * xs[1], s.dModel()), w, s, xs[0], xs[1]);
        SsdResult r = retention(p.q(), p.k(), p.v(), s.chunkSize(), null);
        return new ZeroStatePart(r.y(), p.g(), p.q(), r.summary());
    }

    /**
     * Finishes a segment's mixer: o = o0 + γ^(t+1)·S_in q_t (null S_in: no term), then the norm, the gate and
     * out_proj. Returns out [b, T, d]. The part is spent: the term is added into its o0 when that is dense.
     */
    public static INDArray finish(ZeroStatePart part, Weights w, Spec s, INDArray initialState) {
        INDArray o = part.o0();
        long b = o.size(0);
        long t = o.size(1);
        if (initialState != null) {
            Shapes.requireShape("initial retention state", initialState, o.dataType(), s.stateShape(b));
            o = Shapes.contiguous(o);
            // The initial-state term reads dt, A and C only; o0 stands in for v, whose shape it shares.
            ChunkedSsd.addInitialStateContribution(ssdInputs(part.q(), part.q(), o), initialState, o);
        }
        INDArray gated = gate(Shapes.contiguous(o).reshape(b * t, s.vWidth()), part.g(), s);
        return Linear.forward(gated, w.outProj(), null).reshape(b, t, s.dModel());
    }

    // ---- the Mixer interface over this layer's weights --------------------------------------------------------

    @Override
    public String kind() {
        return "retnet";
    }

    /** Counted with the SSM mixers (the part timings have no bucket of their own for retention). */
    @Override
    public LayerTimings.Part timingPart() {
        return LayerTimings.Part.MAMBA_MIXER;
    }

    @Override
    public Output forward(INDArray x, long position, Mixer.Carry carryIn, LayerTimings timings) {
        return forward(x, weights, spec, (Carry) carryIn, timings);
    }

    @Override
    public Output infer(INDArray x, long position, Mixer.Carry carryIn) {
        return forward(x, weights, spec, (Carry) carryIn, null);
    }

    @Override
    public Mixer.Gradients backward(
            INDArray x,
            Mixer.Window forward,
            INDArray dOut,
            Mixer.Carry dCarryOut,
            Mixer gradients,
            LayerTimings timings) {
        Gradients g = backward(
                x,
                weights,
                spec,
                (Output) forward,
                dOut,
                (Carry) dCarryOut,
                ((RetentionMixer) gradients).weights,
                timings);
        return new Mixer.Gradients(g.dx(), g.dCarryIn());
    }

    /** One token; a null carry (or a null state) starts from zeros, else the carry's state advances in place. */
    @Override
    public Mixer.Result step(INDArray x, long position, Mixer.Carry carry) {
        Carry c = (Carry) carry;
        INDArray state =
                c == null || c.state() == null ? Nd4j.zeros(x.dataType(), spec.stateShape(x.size(0))) : c.state();
        return new Mixer.Result(step(x, weights, spec, state), new Carry(state));
    }

    /** No conv and no attention: a segment reads nothing of the earlier tokens but the passed state. */
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

    @Override
    public Mixer.Segment fromZeroState(INDArray x, long position, INDArray[] halo) {
        Shapes.require(
                halo == null || halo.length == 0,
                "retention segment: expected no halo (haloRows is 0) but" + " found %d blocks",
                halo == null ? 0 : halo.length);
        return new SegmentPart(fromZeroState(x, weights, spec));
    }

    /** (α [1, H], E [1, H·d_v·d_k]): S_out = α·S_in + E, α = γ^T per head. */
    @Override
    public INDArray passState(INDArray state, INDArray[] summary) {
        INDArray e = summary[1];
        if (state == null) {
            return e;
        }
        long[] shape = spec.stateShape(1);
        return new SegmentSummary(summary[0].reshape(1, spec.heads()), e.reshape(shape))
                .apply(state.reshape(shape))
                .reshape(1, e.length());
    }

    /** The retention state [1, H, d_v, d_k]; retention reads no halo. */
    @Override
    public Carry carry(INDArray[] halo, INDArray state) {
        Shapes.require(halo == null || halo.length == 0, "a retention layer reads no halo");
        return new Carry(state == null ? null : Shapes.contiguous(state).reshape(spec.stateShape(1)));
    }

    @Override
    public INDArray[] haloOf(Mixer.Carry c, int rows) {
        return null;
    }

    @Override
    public INDArray stateOf(Mixer.Carry c) {
        return c == null ? null : Shapes.asRow(((Carry) c).state());
    }

    @Override
    public INDArray finish(Mixer.Segment part, INDArray initialState) {
        return finish(
                ((SegmentPart) part).part(),
                weights,
                spec,
                initialState == null ? null : initialState.reshape(spec.stateShape(1)));
    }

    /** A segment's zero-state part with its summary as flat blocks α [1, H], E [1, H·d_v·d_k]. */
    private record SegmentPart(ZeroStatePart part) implements Mixer.Segment {
        @Override
        public INDArray[] summary() {
            SegmentSummary s = part.summary();
            return new INDArray[] {s.alpha().reshape(1, s.alpha().length()), s.E().reshape(1, s.E().length())};
        }
    }

    private static long[] check(INDArray x, Weights w, Spec s, INDArray stateIn) {
        if (x == null || x.rank() != 3 || x.size(2) != s.dModel()) {
            throw new IllegalArgumentException("retention mixer input x: expected shape [batch, T, " + s.dModel()
                    + "] but found " + (x == null ? "null" : Arrays.toString(x.shape())));
        }
        DataType dt = x.dataType();
        if (dt != DataType.FLOAT && dt != DataType.DOUBLE) {
            throw new IllegalArgumentException(
                    "retention mixer input x: expected dtype FLOAT or DOUBLE but found " + dt);
        }
        if (w == null) {
            throw new IllegalArgumentException("retention mixer weights are required but were null");
        }
        Shapes.requireShape("q_proj.weight", w.qProj(), dt, s.qkWidth(), s.dModel());
        Shapes.requireShape("k_proj.weight", w.kProj(), dt, s.qkWidth(), s.dModel());
        Shapes.requireShape("v_proj.weight", w.vProj(), dt, s.vWidth(), s.dModel());
        if (s.gate()) {
            Shapes.requireShape("g_proj.weight", w.gProj(), dt, s.vWidth(), s.dModel());
        }
        Shapes.requireShape("out_proj.weight", w.outProj(), dt, s.dModel(), s.vWidth());
        if (stateIn != null) {
            Shapes.requireShape("carry state", stateIn, dt, s.stateShape(x.size(0)));
        }
        return x.shape();
    }
}
