package io.ssmspark.model.mixer;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.layers.Activations;
import io.ssmspark.model.layers.CausalDepthwiseConv1d;
import io.ssmspark.model.layers.GatedRmsNorm;
import io.ssmspark.model.layers.Linear;
import io.ssmspark.model.ssd.ChunkedSsd;
import io.ssmspark.model.ssd.SegmentSummary;
import io.ssmspark.model.ssd.SsdGradients;
import io.ssmspark.model.ssd.SsdInputs;
import io.ssmspark.model.ssd.SsdResult;
import io.ssmspark.model.ssd.SsdStep;
import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Shapes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * mamba_ssm's Mamba2 mixer on x [batch, T, d_model] (DESIGN.md, "Mamba2 mixer"):
 *
 * <pre>
 *   [z | xBC | dt] = x · in_projᵀ                       widths d_inner, d_inner + 2·G·N, H
 *   xBC  = silu(conv1d(xBC) + conv_bias)                 causal depthwise, kernel K
 *   [x | B | C] = xBC                                    x as (H, P), B and C as (G, N)
 *   dt   = softplus(dt + dt_bias),  A = −exp(A_log)
 *   y    = SSD(x, dt, A, B, C) + D·x                     chunked, chunk = ssm_cfg.chunk_size
 *   y    = rmsnorm_g(y · silu(z)) · norm.weight          groups of d_inner/G, eps 1e-5
 *          (rmsnorm_g(y) · norm.weight · silu(z) when norm_before_gate; y · silu(z) when rmsnorm = false)
 *   out  = y · out_projᵀ
 * </pre>
 *
 * A call may continue an earlier one: {@link Carry} holds the last K−1 pre-conv xBC rows and the final SSM state,
 * and a forward started from the previous call's carry gives exactly what one call over both parts gives.
 *
 * <p>The static methods are the mixer's kernels on explicit weights: the whole window and its backward, one token
 * ({@link #step}) and the segment split ({@link #fromZeroState}, {@link #finish}); they share one front end
 * (in_proj split → conv → SiLU → x/B/C split). An instance binds one layer's weights and drives them through
 * {@link Mixer}.
 */
public final class Mamba2Mixer implements Mixer {

    /**
     * ssm_cfg.layer "Mamba2": mamba_ssm's parameters (Mamba2.__init__) and their initialisation (nn defaults, then
     * dt_bias = softplus⁻¹(dt), A_log = ln U(A_init_range), D = 1; out_proj rescaled as a residual projection).
     */
    public static final MixerFamily FAMILY = new MixerFamily() {
        @Override
        public List<MixerParameter> parameters(MambaConfig c) {
            SsmConfig s = c.ssm();
            int k = s.dConv();
            double convBound = s.convInit() != null ? s.convInit() : 1.0 / Math.sqrt(k); // depthwise: fan_in = K
            // sizes in long arithmetic: ModelSize counts absurd configs through these shapes
            long d = c.dModel();
            long inner = c.dInner();
            long heads = inner / s.headdim();
            long bc = 2L * s.ngroups() * s.dState();
            List<MixerParameter> p = new ArrayList<>();
            p.add(MixerParameter.weight("in_proj.weight", ParameterInit.linear(d), 2 * inner + bc + heads, d));
            p.add(MixerParameter.weight("conv1d.weight", ParameterInit.uniform(convBound), inner + bc, 1, k));
            p.add(MixerParameter.plain("conv1d.bias", ParameterInit.uniform(1.0 / Math.sqrt(k)), inner + bc));
            p.add(MixerParameter.plain(
                    "dt_bias", ParameterInit.inverseSoftplusDt(s.dtMin(), s.dtMax(), s.dtInitFloor()), heads));
            p.add(MixerParameter.plain(
                    "A_log",
                    (n, rnd, scale) -> {
                        double[] v = new double[n];
                        for (int i = 0; i < n; i++) {
                            v[i] = Math.log(s.aInitMin() + (s.aInitMax() - s.aInitMin()) * rnd.nextDouble());
                        }
                        return v;
                    },
                    heads));
            p.add(MixerParameter.plain("D", ParameterInit.constant(1.0), s.dHasHdim() ? inner : heads));
            if (s.rmsnorm()) {
                p.add(MixerParameter.plain("norm.weight", ParameterInit.constant(1.0), inner));
            }
            p.add(MixerParameter.weight("out_proj.weight", ParameterInit.residualLinear(inner), d, inner));
            return p;
        }

        @Override
        public Mixer create(MambaConfig c, Function<String, INDArray> t) {
            INDArray conv = t.apply("conv1d.weight");
            return new Mamba2Mixer(
                    new Weights(
                            t.apply("in_proj.weight"),
                            conv.reshape('c', conv.size(0), conv.size(2)), // (C, 1, K) viewed as [C, K]
                            t.apply("conv1d.bias"),
                            t.apply("dt_bias"),
                            t.apply("A_log"),
                            t.apply("D"),
                            t.apply("norm.weight"),
                            t.apply("out_proj.weight")),
                    Spec.of(c));
        }
    };

    /** The mixer's sizes, from a {@link MambaConfig}. */
    public record Spec(
            int dModel,
            int dInner,
            int heads,
            int headDim,
            int groups,
            int dState,
            int convKernel,
            int chunkSize,
            boolean rmsnorm,
            boolean normBeforeGate) {

        public Spec {
            if (convKernel < 2) {
                throw new IllegalArgumentException("ssm_cfg.d_conv: expected at least 2 but found " + convKernel);
            }
        }

        /**
         * The chunk length the kernel runs with: ssm_cfg.chunk_size, capped at {@link #KERNEL_CHUNK_CAP}. The chunked
         * SSD gives the same result for any chunk length (SsdFormsAgreeTest), while its cost grows with it
         * (the intra-chunk block is Q×Q per chunk), and on the CPU Q = 64 beats mamba_ssm's GPU default of 256 (README,
         * "Measured design choices").
         */
        public static Spec of(MambaConfig c) {
            return new Spec(
                    c.dModel(),
                    c.dInner(),
                    c.nHeads(),
                    c.ssm().headdim(),
                    c.ssm().ngroups(),
                    c.ssm().dState(),
                    c.ssm().dConv(),
                    Math.min(c.ssm().chunkSize(), KERNEL_CHUNK_CAP),
                    c.ssm().rmsnorm(),
                    c.ssm().normBeforeGate());
        }

        /** Longest chunk the CPU kernel uses; see {@link #of(MambaConfig)}. */
        public static final int KERNEL_CHUNK_CAP = 64;

        /** Conv channels: d_inner + 2·G·N. */
        public int convDim() {
            return dInner + 2 * groups * dState;
        }

        /** in_proj rows: 2·d_inner + 2·G·N + H. */
        public int inProjDim() {
            return 2 * dInner + 2 * groups * dState + heads;
        }
    }

    /**
     * The parameters (PyTorch layout) or, in backward, their gradient accumulators: in_proj [inProjDim, d],
     * conv weight [C, K] (the checkpoint's (C, 1, K) viewed), conv bias [C], dt_bias [H], A_log [H], D [H] or
     * [d_inner], norm weight [d_inner] (null when rmsnorm is false), out_proj [d, d_inner]. In backward any
     * accumulator may be null (skipped).
     */
    public record Weights(
            INDArray inProj,
            INDArray convWeight,
            INDArray convBias,
            INDArray dtBias,
            INDArray aLog,
            INDArray d,
            INDArray normWeight,
            INDArray outProj) {}

    /**
     * The continuation state between calls: convRows [batch, K−1, convDim] (the last pre-conv xBC rows) and
     * ssmState [batch, H, P, N]. Either may be null on input (zeros: the sequence start).
     */
    public record Carry(INDArray convRows, INDArray ssmState) implements Mixer.Carry {
        @Override
        public long batch() {
            INDArray any = ssmState != null ? ssmState : convRows;
            return any == null ? -1 : any.size(0);
        }

        @Override
        public Carry map(UnaryOperator<INDArray> f) {
            return new Carry(convRows == null ? null : f.apply(convRows), ssmState == null ? null : f.apply(ssmState));
        }
    }

    /** dx [batch, T, d] and the gradients of the carry-in (convRows, ssmState). */
    public record Gradients(INDArray dx, Carry dCarryIn) {}

    /** The forward's result: out [batch, T, d], the carry-out, and what the backward reuses. */
    public static final class Output implements Mixer.Window {
        private final INDArray out;
        private final Carry carryOut;
        final Carry carryIn;
        final INDArray xbc; // [b, T, C] pre-conv
        final INDArray convOut; // [b, T, C] conv + bias, before silu
        final SsdInputs ssdInputs;
        final INDArray dtPre; // [b, T, H] dt + dt_bias, before softplus
        final INDArray y; // [rows, d_inner] SSD output incl. D·x
        final INDArray z; // [rows, d_inner]
        final INDArray gated; // [rows, d_inner] input of out_proj

        private Output(
                INDArray out,
                Carry carryOut,
                Carry carryIn,
                INDArray xbc,
                INDArray convOut,
                SsdInputs ssdInputs,
                INDArray dtPre,
                INDArray y,
                INDArray z,
                INDArray gated) {
            this.out = out;
            this.carryOut = carryOut;
            this.carryIn = carryIn;
            this.xbc = xbc;
            this.convOut = convOut;
            this.ssdInputs = ssdInputs;
            this.dtPre = dtPre;
            this.y = y;
            this.z = z;
            this.gated = gated;
        }

        @Override
        public INDArray out() {
            return out;
        }

        /** The state to continue from: the last K−1 pre-conv rows and the final SSM state. */
        @Override
        public Carry carryOut() {
            return carryOut;
        }
    }

    private final Weights weights;
    private final Spec spec;

    /** Layer weights {@code weights} (or, as the {@code gradients} of a backward, their accumulators). */
    public Mamba2Mixer(Weights weights, Spec spec) {
        this.weights = weights;
        this.spec = spec;
    }

    public Weights weights() {
        return weights;
    }

    public Spec spec() {
        return spec;
    }

    /** Runs the mixer on x [batch, T, d]; {@code carryIn} may be null (the sequence start). */
    public static Output forward(INDArray x, Weights w, Spec s, Carry carryIn) {
        return forward(x, w, s, carryIn, null);
    }

    /** {@link #forward(INDArray, Weights, Spec, Carry)}, adding the SSD kernel's time into {@code timings}. */
    static Output forward(INDArray x, Weights w, Spec s, Carry carryIn, LayerTimings timings) {
        long[] xs = check(x, w, s, carryIn);
        long b = xs[0];
        long t = xs[1];
        long rows = b * t;
        int di = s.dInner();
        Carry in = carryIn == null ? new Carry(null, null) : carryIn;
        Stage st = stage(x, w, s, in.convRows());
        INDArray z = st.z();
        INDArray xbc = st.xbc();
        INDArray dtPre = st.dtPre();
        INDArray convOut = st.convOut();
        SsdInputs ssd = st.ssd();
        long start = timings == null ? 0 : System.nanoTime();
        SsdResult r = ChunkedSsd.forward(ssd, s.chunkSize(), in.ssmState());
        if (timings != null) {
            timings.addForward(LayerTimings.Part.SSD, start);
        }

        INDArray y = Shapes.contiguous(r.y()).reshape(rows, di);
        INDArray gated = gate(y, z, w.normWeight(), s);
        INDArray out = Linear.forward(gated, w.outProj(), null).reshape(b, t, s.dModel());
        Carry carryOut = new Carry(CausalDepthwiseConv1d.carryRows(in.convRows(), xbc, s.convKernel()), r.finalState());
        return new Output(out, carryOut, in, xbc, convOut, ssd, dtPre, y, z, gated);
    }

    /** The mixer up to the SSD call: in_proj split into z, xBC, dt; the conv continuing {@code convRows}; SiLU. */
    private record Stage(INDArray z, INDArray xbc, INDArray dtPre, INDArray convOut, SsdInputs ssd) {}

    private static Stage stage(INDArray x, Weights w, Spec s, INDArray convRows) {
        long b = x.size(0);
        long t = x.size(1);
        Projected p = project(Shapes.contiguous(x).reshape(b * t, s.dModel()), w, s);
        INDArray xbc = p.xbc().reshape(b, t, s.convDim());
        INDArray dtPre = p.dtPre().reshape(b, t, s.heads());
        INDArray convOut = CausalDepthwiseConv1d.forward(xbc, w.convWeight(), w.convBias(), convRows);
        return new Stage(p.z(), xbc, dtPre, convOut, ssdInputs(convOut, dtPre, w, s, b, t));
    }

    /** The in_proj blocks of rows x: z [rows, d_inner], xBC [rows, convDim] and dt + dt_bias [rows, H]. */
    private record Projected(INDArray z, INDArray xbc, INDArray dtPre) {}

    /** in_proj as one gemm per output block (z | xBC | dt), so each lands dense without a split copy. */
    private static Projected project(INDArray x2, Weights w, Spec s) {
        int di = s.dInner();
        int cd = s.convDim();
        INDArray z = Linear.forward(x2, inProjRows(w.inProj(), 0, di), null);
        INDArray xbc = Linear.forward(x2, inProjRows(w.inProj(), di, cd), null);
        INDArray dtPre = Linear.forward(x2, inProjRows(w.inProj(), di + cd, s.heads()), null);
        Nd4j.exec(new AddOp(dtPre, w.dtBias(), dtPre));
        return new Projected(z, xbc, dtPre);
    }

    /**
     * [x | B | C] = silu(convOut) with x as (H, P), B and C as (G, N); dt = softplus(dtPre), A = −exp(A_log). The
     * arrays are [b, T, ...]; convOut and dtPre hold b·T·convDim and b·T·H values (any shape).
     */
    private static SsdInputs ssdInputs(INDArray convOut, INDArray dtPre, Weights w, Spec s, long b, long t) {
        int di = s.dInner();
        int cd = s.convDim();
        int gn = s.groups() * s.dState();
        long rows = b * t;
        // column blocks of the activations as 2-D [rows, width] views: ND4J copies low-rank strided views fastest
        INDArray act = Activations.silu(convOut).reshape(rows, cd);
        INDArray xh = act.get(all(), interval(0, di)).dup('c').reshape(b, t, s.heads(), s.headDim());
        INDArray bm = act.get(all(), interval(di, di + gn)).dup('c').reshape(b, t, s.groups(), s.dState());
        INDArray cm = act.get(all(), interval(di + gn, cd)).dup('c').reshape(b, t, s.groups(), s.dState());
        INDArray a = Transforms.exp(w.aLog(), true).negi();
        return new SsdInputs(xh, Activations.softplus(dtPre).reshape(b, t, s.heads()), a, bm, cm, w.d());
    }

    /**
     * The mixer on ONE token per sequence, for recurrent decoding (O(1) work per token): x [batch, d] → out
     * [batch, d]. The same front end as the window, then the conv over the carried rows ({@link
     * CausalDepthwiseConv1d#step}) and {@link SsdStep}; {@code convRows} [batch, K−1, convDim] and {@code ssmState}
     * [batch, H, P, N] advance in place.
     */
    public static INDArray step(INDArray x, Weights w, Spec s, INDArray convRows, INDArray ssmState) {
        long b = x.size(0);
        Projected p = project(x, w, s);
        INDArray conv = CausalDepthwiseConv1d.step(p.xbc(), w.convWeight(), w.convBias(), convRows);
        SsdInputs in = ssdInputs(conv, p.dtPre(), w, s, b, 1);
        INDArray y = SsdStep.step(
                        in.x().reshape(b, s.heads(), s.headDim()),
                        in.dt().reshape(b, s.heads()),
                        in.A(),
                        in.B().reshape(b, s.groups(), s.dState()),
                        in.C().reshape(b, s.groups(), s.dState()),
                        in.D(),
                        ssmState)
                .reshape(b, s.dInner());
        return Linear.forward(gate(y, p.z(), w.normWeight(), s), w.outProj(), null);
    }

    // ---- the Mixer interface over this layer's weights --------------------------------------------------------

    @Override
    public String kind() {
        return "mamba2";
    }

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
                ((Mamba2Mixer) gradients).weights,
                timings);
        return new Mixer.Gradients(g.dx(), g.dCarryIn());
    }

    /** One token; a null carry (or one with null parts) starts from zeros, else its arrays advance in place. */
    @Override
    public Mixer.Result step(INDArray x, long position, Mixer.Carry carry) {
        Carry c = (Carry) carry;
        long b = x.size(0);
        INDArray rows = c == null || c.convRows() == null
                ? Nd4j.zeros(x.dataType(), b, spec.convKernel() - 1, spec.convDim())
                : c.convRows();
        INDArray state = c == null || c.ssmState() == null
                ? Nd4j.zeros(x.dataType(), b, spec.heads(), spec.headDim(), spec.dState())
                : c.ssmState();
        return new Mixer.Result(step(x, weights, spec, rows, state), new Carry(rows, state));
    }

    @Override
    public int haloRows() {
        return spec.convKernel() - 1;
    }

    /** The pre-conv xBC rows [r, convDim]: what the next segments' convs read. */
    @Override
    public INDArray[] halo(INDArray x, long position) {
        return new INDArray[] {preConvRows(x, weights, spec).reshape(x.size(1), spec.convDim())};
    }

    @Override
    public boolean carriesState() {
        return true;
    }

    /** The halo's conv rows, zero-padded in front to K−1 when the earlier tokens are fewer. */
    @Override
    public Mixer.Segment fromZeroState(INDArray x, long position, INDArray[] halo) {
        INDArray rows = halo == null ? null : CausalDepthwiseConv1d.previousRows(halo[0], spec.convKernel());
        return new SegmentPart(fromZeroState(x, weights, spec, rows));
    }

    /** A training segment run from a zero SSM state: the stage before the SSD, its conv's previous rows and the SSD run. */
    private record TrainingPart(INDArray convRows, Stage stage, SsdResult zeroState) implements Mixer.Segment {
        @Override
        public INDArray[] summary() {
            SegmentSummary s = zeroState.summary();
            return new INDArray[] {s.alpha().reshape(1, s.alpha().length()), s.E().reshape(1, s.E().length())};
        }
    }

    @Override
    public Mixer.Segment trainingSegment(INDArray x, long position, INDArray[] halo) {
        INDArray rows = halo == null ? null : CausalDepthwiseConv1d.previousRows(halo[0], spec.convKernel());
        check(x, weights, spec, new Carry(rows, null));
        Stage st = stage(x, weights, spec, rows);
        return new TrainingPart(rows, st, ChunkedSsd.forward(st.ssd(), spec.chunkSize(), null));
    }

    /**
     * forward(x, Carry(rows, S_in)) from the zero-state run: the SSD output gains the initial-state term
     * exp(cum_t)·C_t·S_in and the final state becomes α·S_in + E; the gated norm and out_proj run on the result.
     */
    @Override
    public Output finishWindow(Mixer.Segment part, INDArray state) {
        TrainingPart p = (TrainingPart) part;
        Stage st = p.stage();
        INDArray y = Shapes.contiguous(p.zeroState().y());
        long b = y.size(0);
        long t = y.size(1);
        INDArray initial = null;
        INDArray finalState = p.zeroState().finalState();
        if (state != null) {
            initial = Shapes.contiguous(state).reshape(b, spec.heads(), spec.headDim(), spec.dState());
            ChunkedSsd.addInitialStateContribution(st.ssd(), initial, y);
            finalState = p.zeroState().summary().apply(initial);
        }
        INDArray rows = Shapes.contiguous(y).reshape(b * t, spec.dInner());
        INDArray gated = gate(rows, st.z(), weights.normWeight(), spec);
        INDArray out = Linear.forward(gated, weights.outProj(), null).reshape(b, t, spec.dModel());
        Carry carryOut =
                new Carry(CausalDepthwiseConv1d.carryRows(p.convRows(), st.xbc(), spec.convKernel()), finalState);
        return new Output(
                out,
                carryOut,
                new Carry(p.convRows(), initial),
                st.xbc(),
                st.convOut(),
                st.ssd(),
                st.dtPre(),
                rows,
                st.z(),
                gated);
    }

    /**
     * y gains exp(cum_t)·C_t·S_in (the SSD's initial-state term), so dℓ/dS_in needs only dy: out_proj's and the gated
     * norm's input gradients, then the term's adjoint ({@link ChunkedSsd#initialStateGradient}).
     */
    @Override
    public INDArray initialStateGradient(INDArray x, Mixer.Window forward, INDArray dOut) {
        Output fwd = (Output) forward;
        long b = x.size(0);
        long t = x.size(1);
        long rows = b * t;
        INDArray dGated = Linear.backward(
                fwd.gated, weights.outProj(), Shapes.contiguous(dOut).reshape(rows, spec.dModel()), null, null);
        INDArray dy;
        if (spec.rmsnorm()) {
            dy = GatedRmsNorm.backward(
                            fwd.y,
                            fwd.z,
                            weights.normWeight(),
                            spec.dInner() / spec.groups(),
                            GatedRmsNorm.MAMBA2_EPS,
                            spec.normBeforeGate(),
                            dGated,
                            null)
                    .dx();
        } else {
            dy = dGated.mul(Activations.silu(fwd.z));
        }
        INDArray g = ChunkedSsd.initialStateGradient(
                fwd.ssdInputs, Shapes.contiguous(dy).reshape(b, t, spec.heads(), spec.headDim()));
        return g.reshape(1, g.length());
    }

    /** Conv rows [1, K−1, convDim] from the halo (zero-padded in front) and the SSM state [1, H, P, N]. */
    @Override
    public Carry carry(INDArray[] halo, INDArray state) {
        return new Carry(
                halo == null ? null : CausalDepthwiseConv1d.previousRows(halo[0], spec.convKernel()),
                state == null
                        ? null
                        : Shapes.contiguous(state).reshape(1, spec.heads(), spec.headDim(), spec.dState()));
    }

    @Override
    public INDArray[] haloOf(Mixer.Carry c, int rows) {
        return c == null ? null : CausalDepthwiseConv1d.halo(((Carry) c).convRows(), rows);
    }

    @Override
    public INDArray stateOf(Mixer.Carry c) {
        return c == null ? null : Shapes.asRow(((Carry) c).ssmState());
    }

    /** (α [1, H], E [1, H·P·N]): S_out = α·S_in + E, α per head. */
    @Override
    public INDArray passState(INDArray state, INDArray[] summary) {
        INDArray e = summary[1];
        if (state == null) {
            return e;
        }
        long[] heads = {1, spec.heads(), spec.headDim(), spec.dState()};
        return new SegmentSummary(summary[0].reshape(1, spec.heads()), e.reshape(heads))
                .apply(state.reshape(heads))
                .reshape(1, e.length());
    }

    @Override
    public INDArray finish(Mixer.Segment part, INDArray initialState) {
        return finish(
                ((SegmentPart) part).part(),
                weights,
                spec,
                initialState == null ? null : initialState.reshape(1, spec.heads(), spec.headDim(), spec.dState()));
    }

    /** A segment's zero-state part with its summary as flat blocks α [1, H], E [1, H·P·N]. */
    private record SegmentPart(ZeroStatePart part) implements Mixer.Segment {
        @Override
        public INDArray[] summary() {
            SegmentSummary s = part.summary();
            return new INDArray[] {s.alpha().reshape(1, s.alpha().length()), s.E().reshape(1, s.E().length())};
        }
    }

    // ---- the mixer split around the SSD call, for scoring segments of one sequence in parallel ----------------
    //
    // DESIGN.md, "State passing across segments": a segment runs its SSD from a zero state, giving y0 and the
    // summary (α, E); once the exclusive scan has given its true initial state S_in, every token gains
    // exp(cum_t)·(S_in·C_t) and the mixer finishes (gated norm, out_proj). forward(x, w, s, Carry(rows, S_in))
    // equals finish(fromZeroState(x, w, s, rows), w, s, S_in).

    /**
     * What a segment's mixer holds at the SSD call when it ran from a zero SSM state: y0 [b, T, H, P] (SSD output
     * including D·x), z [b·T, d_inner], the SSD steps dt [b, T, H] and C [b, T, G, N] (all that the initial-state
     * term reads), and the summary (α, E).
     */
    public record ZeroStatePart(INDArray y0, INDArray z, INDArray dt, INDArray c, SegmentSummary summary) {}

    /**
     * The last rows of the pre-conv xBC of x [b, T, d] (in_proj's xBC rows only): what the next segment's conv
     * needs as its previous rows. Returns [b, T, convDim].
     */
    public static INDArray preConvRows(INDArray x, Weights w, Spec s) {
        check(x, w, s, null);
        long rows = x.size(0) * x.size(1);
        INDArray xbcWeight = inProjRows(w.inProj(), s.dInner(), s.convDim());
        return Linear.forward(Shapes.contiguous(x).reshape(rows, s.dModel()), xbcWeight, null)
                .reshape(x.size(0), x.size(1), s.convDim());
    }

    /**
     * Runs the mixer on x [b, T, d] up to and including the SSD from a zero state; the conv continues
     * {@code convRows} [b, K−1, convDim] (null: zeros, the sequence start).
     */
    public static ZeroStatePart fromZeroState(INDArray x, Weights w, Spec s, INDArray convRows) {
        check(x, w, s, new Carry(convRows, null));
        Stage st = stage(x, w, s, convRows);
        SsdResult r = ChunkedSsd.forward(st.ssd(), s.chunkSize(), null);
        return new ZeroStatePart(r.y(), st.z(), st.ssd().dt(), st.ssd().C(), r.summary());
    }

    /**
     * Finishes a segment's mixer: y = y0 + exp(cum_t)·(S_in·C_t) (null S_in: no term), then the gated norm and
     * out_proj. Returns out [b, T, d]. The part is spent: the term is added into its y0 when that is dense.
     */
    public static INDArray finish(ZeroStatePart part, Weights w, Spec s, INDArray initialState) {
        INDArray y = part.y0();
        long b = y.size(0);
        long t = y.size(1);
        if (initialState != null) {
            Shapes.requireShape("initial SSM state", initialState, y.dataType(), b, s.heads(), s.headDim(), s.dState());
            INDArray a = Transforms.exp(w.aLog(), true).negi();
            y = Shapes.contiguous(y);
            // The initial-state term reads dt, A and C only; y0 stands in for x, whose shape it shares.
            SsdInputs stepsAndC = new SsdInputs(y, part.dt(), a, part.c(), part.c(), null);
            ChunkedSsd.addInitialStateContribution(stepsAndC, initialState, y);
        }
        INDArray gated = gate(Shapes.contiguous(y).reshape(b * t, s.dInner()), part.z(), w.normWeight(), s);
        return Linear.forward(gated, w.outProj(), null).reshape(b, t, s.dModel());
    }

    /**
     * Backward of {@link #forward}: adds the parameter gradients into the non-null accumulators of {@code grads}
     * and returns dx and the carry-in gradients. {@code dCarryOut} (may be null, or have null parts) is the
     * gradient reaching the carry-out from a later segment.
     */
    public static Gradients backward(
            INDArray x, Weights w, Spec s, Output fwd, INDArray dOut, Carry dCarryOut, Weights grads) {
        return backward(x, w, s, fwd, dOut, dCarryOut, grads, null);
    }

    /** {@link #backward(INDArray, Weights, Spec, Output, INDArray, Carry, Weights)}, timing the SSD backward. */
    static Gradients backward(
            INDArray x,
            Weights w,
            Spec s,
            Output fwd,
            INDArray dOut,
            Carry dCarryOut,
            Weights grads,
            LayerTimings timings) {
        long[] xs = check(x, w, s, fwd.carryIn);
        Shapes.requireShape("dOut", dOut, x.dataType(), xs);
        DataType dt = x.dataType();
        long b = xs[0];
        long t = xs[1];
        long rows = b * t;
        int di = s.dInner();
        int cd = s.convDim();
        int gn = s.groups() * s.dState();
        int k = s.convKernel();
        Carry dCarry = dCarryOut == null ? new Carry(null, null) : dCarryOut;

        INDArray dGated = Linear.backward(
                fwd.gated, w.outProj(), Shapes.contiguous(dOut).reshape(rows, s.dModel()), grads.outProj(), null);
        INDArray dy;
        INDArray dz;
        if (s.rmsnorm()) {
            GatedRmsNorm.Gradients g = GatedRmsNorm.backward(
                    fwd.y,
                    fwd.z,
                    w.normWeight(),
                    di / s.groups(),
                    GatedRmsNorm.MAMBA2_EPS,
                    s.normBeforeGate(),
                    dGated,
                    grads.normWeight());
            dy = g.dx();
            dz = g.dz();
        } else {
            // out = y · silu(z)
            Activations.Silu silu = Activations.siluWithGrad(fwd.z);
            dy = dGated.mul(silu.value());
            dz = dGated.mul(fwd.y).muli(silu.grad());
        }

        long start = timings == null ? 0 : System.nanoTime();
        SsdGradients sg = ChunkedSsd.backward(
                fwd.ssdInputs,
                s.chunkSize(),
                fwd.carryIn.ssmState(),
                Shapes.contiguous(dy).reshape(b, t, s.heads(), s.headDim()),
                dCarry.ssmState());
        if (timings != null) {
            timings.addBackward(LayerTimings.Part.SSD, start);
        }
        // A = −exp(A_log) ⇒ dA_log = dA · A
        addInto(grads.aLog(), sg.dA().mul(fwd.ssdInputs.A()));
        addInto(grads.d(), sg.dD());
        INDArray dDtPre = sg.ddt().mul(Activations.softplusGrad(fwd.dtPre)); // [b, T, H]
        addInto(grads.dtBias(), dDtPre.sum(0, 1));

        INDArray dAct = Nd4j.createUninitialized(dt, rows, cd);
        dAct.get(all(), interval(0, di)).assign(Shapes.contiguous(sg.dx()).reshape(rows, di));
        dAct.get(all(), interval(di, di + gn)).assign(Shapes.contiguous(sg.dB()).reshape(rows, gn));
        dAct.get(all(), interval(di + gn, cd)).assign(Shapes.contiguous(sg.dC()).reshape(rows, gn));
        Nd4j.exec(new MulOp(dAct, Activations.siluGrad(fwd.convOut).reshape(rows, cd), dAct));
        dAct = dAct.reshape(b, t, cd);
        CausalDepthwiseConv1d.Gradients cg = CausalDepthwiseConv1d.backward(
                fwd.xbc, w.convWeight(), fwd.carryIn.convRows(), dAct, grads.convWeight(), grads.convBias());
        INDArray dXbc = cg.dx();
        INDArray dPrev = cg.dPrev();
        if (dCarry.convRows() != null) {
            // The carry-out is the last K−1 rows of (prev ++ xBC): route its gradient back to those rows.
            Shapes.requireShape("dCarryOut.convRows", dCarry.convRows(), dt, b, k - 1, cd);
            INDArray padded = Nd4j.concat(1, dPrev, dXbc);
            long total = t + k - 1;
            padded.get(all(), interval(total - (k - 1), total), all()).addi(dCarry.convRows());
            dPrev = padded.get(all(), interval(0, k - 1), all()).dup('c');
            dXbc = padded.get(all(), interval(k - 1, total), all()).dup('c');
        }

        // in_proj backward block by block: dx sums the three blocks' contributions
        INDArray x2 = Shapes.contiguous(x).reshape(rows, s.dModel());
        INDArray dx = Linear.backward(
                x2, inProjRows(w.inProj(), 0, di), Shapes.contiguous(dz), inProjRows(grads.inProj(), 0, di), null);
        dx.addi(Linear.backward(
                x2,
                inProjRows(w.inProj(), di, cd),
                Shapes.contiguous(dXbc).reshape(rows, cd),
                inProjRows(grads.inProj(), di, cd),
                null));
        dx.addi(Linear.backward(
                x2,
                inProjRows(w.inProj(), di + cd, s.heads()),
                Shapes.contiguous(dDtPre).reshape(rows, s.heads()),
                inProjRows(grads.inProj(), di + cd, s.heads()),
                null));
        dx = dx.reshape(b, t, s.dModel());
        return new Gradients(dx, new Carry(dPrev, sg.dInitialState()));
    }

    /** Rows [first, first + count) of in_proj.weight (or of its gradient); null stays null. */
    private static INDArray inProjRows(INDArray inProj, long first, long count) {
        if (inProj == null) {
            return null;
        }
        long d = inProj.size(1);
        return Layouts.isDense(inProj)
                ? Layouts.view(inProj, first * d, count, d)
                : inProj.get(interval(first, first + count), all());
    }

    /** The gated norm: rmsnorm_g with the gate, or y·silu(z) when the config has no norm. */
    static INDArray gate(INDArray y, INDArray z, INDArray normWeight, Spec s) {
        if (s.rmsnorm()) {
            return GatedRmsNorm.forward(
                    y, z, normWeight, s.dInner() / s.groups(), GatedRmsNorm.MAMBA2_EPS, s.normBeforeGate());
        }
        return y.mul(Activations.silu(z));
    }

    private static void addInto(INDArray accumulator, INDArray value) {
        if (accumulator != null && value != null) {
            accumulator.addi(value.reshape(accumulator.shape()));
        }
    }

    private static long[] check(INDArray x, Weights w, Spec s, Carry carryIn) {
        if (x == null || x.rank() != 3 || x.size(2) != s.dModel()) {
            throw new IllegalArgumentException("mamba2 mixer input x: expected shape [batch, T, " + s.dModel()
                    + "] but found " + (x == null ? "null" : Arrays.toString(x.shape())));
        }
        DataType dt = x.dataType();
        if (dt != DataType.FLOAT && dt != DataType.DOUBLE) {
            throw new IllegalArgumentException("mamba2 mixer input x: expected dtype FLOAT or DOUBLE but found " + dt);
        }
        if (w == null) {
            throw new IllegalArgumentException("mamba2 mixer weights are required but were null");
        }
        int di = s.dInner();
        Shapes.requireShape("in_proj.weight", w.inProj(), dt, s.inProjDim(), s.dModel());
        Shapes.requireShape("conv1d.weight", w.convWeight(), dt, s.convDim(), s.convKernel());
        Shapes.requireShape("conv1d.bias", w.convBias(), dt, s.convDim());
        Shapes.requireShape("dt_bias", w.dtBias(), dt, s.heads());
        Shapes.requireShape("A_log", w.aLog(), dt, s.heads());
        if (w.d() == null || (w.d().length() != s.heads() && w.d().length() != di) || w.d().rank() != 1) {
            throw new IllegalArgumentException("tensor 'D': expected shape [" + s.heads() + "] or [" + di
                    + "] but found " + (w.d() == null ? "null" : Arrays.toString(w.d().shape())));
        }
        if (s.rmsnorm()) {
            Shapes.requireShape("norm.weight", w.normWeight(), dt, di);
        }
        Shapes.requireShape("out_proj.weight", w.outProj(), dt, s.dModel(), di);
        if (carryIn != null) {
            if (carryIn.convRows() != null) {
                Shapes.requireShape(
                        "carry convRows", carryIn.convRows(), dt, x.size(0), s.convKernel() - 1, s.convDim());
            }
            if (carryIn.ssmState() != null) {
                Shapes.requireShape(
                        "carry ssmState", carryIn.ssmState(), dt, x.size(0), s.heads(), s.headDim(), s.dState());
            }
        }
        return x.shape();
    }
}
