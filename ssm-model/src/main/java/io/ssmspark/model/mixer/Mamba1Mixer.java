package io.ssmspark.model.mixer;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.layers.Activations;
import io.ssmspark.model.layers.CausalDepthwiseConv1d;
import io.ssmspark.model.layers.Linear;
import io.ssmspark.model.scan.ChunkedScan;
import io.ssmspark.model.scan.ScanGradients;
import io.ssmspark.model.scan.ScanInputs;
import io.ssmspark.model.scan.ScanResult;
import io.ssmspark.model.scan.ScanStep;
import io.ssmspark.model.scan.ScanSummary;
import io.ssmspark.model.tensor.Layouts;
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
 * mamba_ssm's Mamba (Mamba1) mixer on x [batch, T, d_model] (DESIGN.md, "Mamba1 mixer"; the authority is
 * mamba_ssm/modules/mamba_simple.py, Mamba.forward without the fused kernels, and Mamba.step):
 *
 * <pre>
 *   [x | z]  = x · in_projᵀ (+ in_proj.bias)              widths d_inner, d_inner
 *   x        = silu(conv1d(x) + conv1d.bias)              causal depthwise, kernel d_conv
 *   [dt | B | C] = x · x_projᵀ                            widths dt_rank, d_state, d_state
 *   dt       = softplus(dt · dt_proj.weightᵀ + dt_proj.bias)   the bias inside the softplus (delta_bias)
 *   A        = −exp(A_log)                                (d_inner, d_state)
 *   y        = scan(x, dt, A, B, C) + D·x                 per channel: h = exp(dt·A)⊙h + dt·x·B, y = C·h
 *   out      = (y · silu(z)) · out_projᵀ (+ out_proj.bias)
 * </pre>
 *
 * The scan is {@link ChunkedScan}. A call may continue an earlier one: {@link Carry} holds the last d_conv − 1
 * pre-conv x rows and the SSM state [batch, d_inner, d_state], and a forward started from the previous call's carry
 * gives what one call over both parts gives. The static methods are the kernels on explicit weights (window and
 * backward, one token, the segment split); an instance binds one layer's weights and drives them through
 * {@link Mixer}. The scan's time counts in {@link LayerTimings.Part#SSD}, the state-space kernel of the mixer.
 */
public final class Mamba1Mixer implements Mixer {

    /**
     * ssm_cfg.layer "Mamba1": mamba_ssm's parameters in the order Mamba.__init__ makes them, and their
     * initialisation: nn.Linear and nn.Conv1d defaults (U(±1/√fan_in), the depthwise conv's fan_in being d_conv),
     * dt_proj.weight U(±dt_rank^−½·dt_scale) or that constant, dt_proj.bias = softplus⁻¹(dt) (kept by
     * _init_weights: _no_reinit), A_log = log(1..d_state) on every row (S4D real), D = 1; _init_weights then zeroes
     * the Linear biases (in_proj, out_proj when bias) and rescales out_proj.weight as a residual projection
     * (models/mixer_seq_simple.py). No weight decay on A_log and D (_no_weight_decay) nor on biases.
     */
    public static final MixerFamily FAMILY = new MixerFamily() {
        @Override
        public List<MixerParameter> parameters(MambaConfig c) {
            SsmConfig s = c.ssm();
            int di = c.dInner();
            int k = s.dConv();
            int rank = c.dtRank();
            int n = s.dState();
            double convBound = 1.0 / Math.sqrt(k); // nn.Conv1d: fan_in = in_channels / groups · kernel = d_conv
            double dtStd = Math.pow(rank, -0.5) * s.dtScale();
            List<MixerParameter> p = new ArrayList<>();
            p.add(MixerParameter.weight("in_proj.weight", ParameterInit.linear(c.dModel()), 2L * di, c.dModel()));
            if (s.bias()) {
                p.add(MixerParameter.plain("in_proj.bias", ParameterInit.constant(0.0), 2L * di));
            }
            p.add(MixerParameter.weight("conv1d.weight", ParameterInit.uniform(convBound), di, 1, k));
            if (s.convBias()) {
                p.add(MixerParameter.plain("conv1d.bias", ParameterInit.uniform(convBound), di));
            }
            p.add(MixerParameter.weight("x_proj.weight", ParameterInit.linear(di), rank + 2L * n, di));
            p.add(MixerParameter.weight(
                    "dt_proj.weight",
                    "constant".equals(s.dtInit()) ? ParameterInit.constant(dtStd) : ParameterInit.uniform(dtStd),
                    di,
                    rank));
            p.add(MixerParameter.plain(
                    "dt_proj.bias", ParameterInit.inverseSoftplusDt(s.dtMin(), s.dtMax(), s.dtInitFloor()), di));
            p.add(MixerParameter.plain(
                    "A_log",
                    (count, rnd, scale) -> {
                        double[] v = new double[count];
                        for (int i = 0; i < count; i++) {
                            v[i] = Math.log(1 + i % n); // A[d, j] = j + 1 on every row d
                        }
                        return v;
                    },
                    di,
                    n));
            p.add(MixerParameter.plain("D", ParameterInit.constant(1.0), di));
            p.add(MixerParameter.weight("out_proj.weight", ParameterInit.residualLinear(di), c.dModel(), di));
            if (s.bias()) {
                p.add(MixerParameter.plain("out_proj.bias", ParameterInit.constant(0.0), c.dModel()));
            }
            return p;
        }

        @Override
        public Mixer create(MambaConfig c, Function<String, INDArray> t) {
            INDArray conv = t.apply("conv1d.weight");
            return new Mamba1Mixer(
                    new Weights(
                            t.apply("in_proj.weight"),
                            t.apply("in_proj.bias"),
                            conv.reshape('c', conv.size(0), conv.size(2)), // (d_inner, 1, K) viewed as [d_inner, K]
                            t.apply("conv1d.bias"),
                            t.apply("x_proj.weight"),
                            t.apply("dt_proj.weight"),
                            t.apply("dt_proj.bias"),
                            t.apply("A_log"),
                            t.apply("D"),
                            t.apply("out_proj.weight"),
                            t.apply("out_proj.bias")),
                    Spec.of(c));
        }
    };

    /** The mixer's sizes; {@code chunk} is the scan's chunk length (a speed setting, not a config field). */
    public record Spec(
            int dModel, int dInner, int dtRank, int dState, int convKernel, boolean convBias, boolean bias, int chunk) {

        public Spec {
            if (convKernel < 2) {
                throw new IllegalArgumentException("ssm_cfg.d_conv: expected at least 2 but found " + convKernel);
            }
        }

        public static Spec of(MambaConfig c) {
            SsmConfig s = c.ssm();
            return new Spec(
                    c.dModel(),
                    c.dInner(),
                    c.dtRank(),
                    s.dState(),
                    s.dConv(),
                    s.convBias(),
                    s.bias(),
                    ChunkedScan.DEFAULT_CHUNK);
        }

        /** x_proj rows: dt_rank + 2·d_state. */
        public int xProjDim() {
            return dtRank + 2 * dState;
        }
    }

    /**
     * The parameters (PyTorch layout) or, in backward, their gradient accumulators: in_proj [2·d_inner, d] and its
     * bias [2·d_inner] (null without bias), conv weight [d_inner, K] (the checkpoint's (d_inner, 1, K) viewed), conv
     * bias [d_inner] (null without conv_bias), x_proj [dt_rank + 2N, d_inner], dt_proj weight [d_inner, dt_rank]
     * and bias [d_inner], A_log [d_inner, N], D [d_inner], out_proj [d, d_inner] and its bias [d] (null without
     * bias). In backward any accumulator may be null (skipped).
     */
    public record Weights(
            INDArray inProj,
            INDArray inProjBias,
            INDArray convWeight,
            INDArray convBias,
            INDArray xProj,
            INDArray dtProjWeight,
            INDArray dtProjBias,
            INDArray aLog,
            INDArray d,
            INDArray outProj,
            INDArray outProjBias) {}

    /**
     * The continuation state between calls: convRows [batch, K−1, d_inner] (the last pre-conv x rows) and ssmState
     * [batch, d_inner, N]. Either may be null on input (zeros: the sequence start).
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
        final Front front;
        final INDArray y; // [rows, d_inner] scan output incl. D·x
        final INDArray gated; // [rows, d_inner] input of out_proj

        private Output(INDArray out, Carry carryOut, Carry carryIn, Front front, INDArray y, INDArray gated) {
            this.out = out;
            this.carryOut = carryOut;
            this.carryIn = carryIn;
            this.front = front;
            this.y = y;
            this.gated = gated;
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

    private final Weights weights;
    private final Spec spec;

    /** Layer weights {@code weights} (or, as the {@code gradients} of a backward, their accumulators). */
    public Mamba1Mixer(Weights weights, Spec spec) {
        this.weights = weights;
        this.spec = spec;
    }

    public Weights weights() {
        return weights;
    }

    public Spec spec() {
        return spec;
    }

    // ---- the window ----------------------------------------------------------------------------------------------

    /** Runs the mixer on x [batch, T, d]; {@code carryIn} may be null (the sequence start). */
    public static Output forward(INDArray x, Weights w, Spec s, Carry carryIn) {
        return forward(x, w, s, carryIn, null);
    }

    static Output forward(INDArray x, Weights w, Spec s, Carry carryIn, LayerTimings timings) {
        long[] xs = check(x, w, s, carryIn);
        long rows = xs[0] * xs[1];
        Carry in = carryIn == null ? new Carry(null, null) : carryIn;
        Front f = front(x, w, s, in.convRows());
        long start = timings == null ? 0 : System.nanoTime();
        ScanResult r = ChunkedScan.forward(f.scan(), s.chunk(), in.ssmState());
        if (timings != null) {
            timings.addForward(LayerTimings.Part.SSD, start);
        }
        INDArray y = Shapes.contiguous(r.y()).reshape(rows, s.dInner());
        INDArray gated = y.mul(Activations.silu(f.z()));
        INDArray out = Linear.forward(gated, w.outProj(), w.outProjBias()).reshape(xs[0], xs[1], s.dModel());
        Carry carryOut =
                new Carry(CausalDepthwiseConv1d.carryRows(in.convRows(), f.xIn(), s.convKernel()), r.finalState());
        return new Output(out, carryOut, in, f, y, gated);
    }

    /**
     * The mixer up to the scan: x [rows, d] → the in_proj blocks xIn [b, T, d_inner] (pre-conv) and z [rows,
     * d_inner], the conv output before SiLU [b, T, d_inner], dt_low [rows, dt_rank], dt_proj's output before the
     * softplus [rows, d_inner], and the scan's inputs.
     */
    record Front(
            INDArray x2, INDArray xIn, INDArray z, INDArray convOut, INDArray dtLow, INDArray dtPre, ScanInputs scan) {}

    private static Front front(INDArray x, Weights w, Spec s, INDArray convRows) {
        long b = x.size(0);
        long t = x.size(1);
        long rows = b * t;
        int di = s.dInner();
        INDArray x2 = Shapes.contiguous(x).reshape(rows, s.dModel());
        INDArray xIn = Linear.forward(x2, rowsOf(w.inProj(), 0, di), rowsOf(w.inProjBias(), 0, di))
                .reshape(b, t, di);
        INDArray z = Linear.forward(x2, rowsOf(w.inProj(), di, di), rowsOf(w.inProjBias(), di, di));
        INDArray convOut = CausalDepthwiseConv1d.forward(xIn, w.convWeight(), w.convBias(), convRows);
        INDArray act = Activations.silu(convOut); // [b, T, d_inner]
        Tail tail = tail(act.reshape(rows, di), w, s);
        return new Front(
                x2,
                xIn,
                z,
                convOut,
                tail.dtLow(),
                tail.dtPre(),
                new ScanInputs(
                        act,
                        tail.dt().reshape(b, t, di),
                        negExp(w.aLog()),
                        tail.b().reshape(b, t, s.dState()),
                        tail.c().reshape(b, t, s.dState()),
                        w.d()));
    }

    /** x_proj split into dt_low, B, C (mamba_ssm's torch.split(x_dbl, [dt_rank, d_state, d_state])), then dt. */
    private record Tail(INDArray dtLow, INDArray b, INDArray c, INDArray dtPre, INDArray dt) {}

    /** One gemm per x_proj block, so each lands dense; dt = softplus(dt_low · dt_projᵀ + dt_proj.bias). */
    private static Tail tail(INDArray act2, Weights w, Spec s) {
        int r = s.dtRank();
        int n = s.dState();
        INDArray dtLow = Linear.forward(act2, rowsOf(w.xProj(), 0, r), null);
        INDArray b = Linear.forward(act2, rowsOf(w.xProj(), r, n), null);
        INDArray c = Linear.forward(act2, rowsOf(w.xProj(), r + n, n), null);
        INDArray dtPre = Linear.forward(dtLow, w.dtProjWeight(), w.dtProjBias());
        return new Tail(dtLow, b, c, dtPre, Activations.softplus(dtPre));
    }

    /** A = −exp(A_log). */
    private static INDArray negExp(INDArray aLog) {
        return Transforms.exp(aLog, true).negi();
    }

    /**
     * Backward of {@link #forward}: adds the parameter gradients into the non-null accumulators of {@code grads} and
     * returns dx and the carry-in gradients; {@code dCarryOut} (may be null, or have null parts) is the gradient
     * reaching the carry-out from a later window.
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
        long[] xs = check(x, w, s, fwd.carryIn);
        Shapes.requireShape("dOut", dOut, x.dataType(), xs);
        long b = xs[0];
        long t = xs[1];
        long rows = b * t;
        int di = s.dInner();
        int r = s.dtRank();
        int n = s.dState();
        int k = s.convKernel();
        Front f = fwd.front;
        Carry dCarry = dCarryOut == null ? new Carry(null, null) : dCarryOut;

        INDArray dGated = Linear.backward(
                fwd.gated,
                w.outProj(),
                Shapes.contiguous(dOut).reshape(rows, s.dModel()),
                grads.outProj(),
                grads.outProjBias());
        Activations.Silu gate = Activations.siluWithGrad(f.z()); // out = y·silu(z)
        INDArray dy = dGated.mul(gate.value());
        INDArray dz = dGated.mul(fwd.y).muli(gate.grad());

        long start = timings == null ? 0 : System.nanoTime();
        ScanGradients sg = ChunkedScan.backward(
                f.scan(), s.chunk(), fwd.carryIn.ssmState(), dy.reshape(b, t, di), dCarry.ssmState());
        if (timings != null) {
            timings.addBackward(LayerTimings.Part.SSD, start);
        }
        addInto(grads.aLog(), sg.dA().mul(f.scan().A())); // A = −exp(A_log) ⇒ dA_log = dA·A
        addInto(grads.d(), sg.dD());
        INDArray dDtPre = Shapes.contiguous(sg.ddt()).reshape(rows, di).muli(Activations.softplusGrad(f.dtPre()));
        INDArray dDtLow =
                Linear.backward(f.dtLow(), w.dtProjWeight(), dDtPre, grads.dtProjWeight(), grads.dtProjBias());
        // x_proj backward block by block: the conv activations' gradient sums the scan's and the three blocks'
        INDArray act2 = f.scan().x().reshape(rows, di);
        INDArray dAct = Shapes.contiguous(sg.dx()).reshape(rows, di);
        dAct.addi(Linear.backward(act2, rowsOf(w.xProj(), 0, r), dDtLow, rowsOf(grads.xProj(), 0, r), null));
        dAct.addi(Linear.backward(
                act2,
                rowsOf(w.xProj(), r, n),
                Shapes.contiguous(sg.dB()).reshape(rows, n),
                rowsOf(grads.xProj(), r, n),
                null));
        dAct.addi(Linear.backward(
                act2,
                rowsOf(w.xProj(), r + n, n),
                Shapes.contiguous(sg.dC()).reshape(rows, n),
                rowsOf(grads.xProj(), r + n, n),
                null));
        INDArray dConvOut = dAct.reshape(b, t, di).muli(Activations.siluGrad(f.convOut()));
        CausalDepthwiseConv1d.Gradients cg = CausalDepthwiseConv1d.backward(
                f.xIn(), w.convWeight(), fwd.carryIn.convRows(), dConvOut, grads.convWeight(), grads.convBias());
        INDArray dXIn = cg.dx();
        INDArray dPrev = cg.dPrev();
        if (dCarry.convRows() != null) {
            // The carry-out is the last K−1 rows of (prev ++ xIn): route its gradient back to those rows.
            Shapes.requireShape("dCarryOut.convRows", dCarry.convRows(), x.dataType(), b, k - 1, di);
            INDArray padded = Nd4j.concat(1, dPrev, dXIn);
            long total = t + k - 1;
            padded.get(all(), interval(total - (k - 1), total), all()).addi(dCarry.convRows());
            dPrev = padded.get(all(), interval(0, k - 1), all()).dup('c');
            dXIn = padded.get(all(), interval(k - 1, total), all()).dup('c');
        }
        // in_proj backward block by block: dx sums the x and z blocks' contributions
        INDArray dx = Linear.backward(
                f.x2(),
                rowsOf(w.inProj(), 0, di),
                Shapes.contiguous(dXIn).reshape(rows, di),
                rowsOf(grads.inProj(), 0, di),
                rowsOf(grads.inProjBias(), 0, di));
        dx.addi(Linear.backward(
                f.x2(),
                rowsOf(w.inProj(), di, di),
                dz,
                rowsOf(grads.inProj(), di, di),
                rowsOf(grads.inProjBias(), di, di)));
        return new Gradients(dx.reshape(b, t, s.dModel()), new Carry(dPrev, sg.dInitialState()));
    }

    // ---- one token -----------------------------------------------------------------------------------------------

    /**
     * The mixer on ONE token per sequence, for recurrent decoding (O(1) work per token): x [batch, d] → out [batch,
     * d]; {@code convRows} [batch, K−1, d_inner] and {@code ssmState} [batch, d_inner, N] advance in place (mamba_ssm's
     * Mamba.step without its fused kernels).
     */
    public static INDArray step(INDArray x, Weights w, Spec s, INDArray convRows, INDArray ssmState) {
        int di = s.dInner();
        INDArray xIn = Linear.forward(x, rowsOf(w.inProj(), 0, di), rowsOf(w.inProjBias(), 0, di));
        INDArray z = Linear.forward(x, rowsOf(w.inProj(), di, di), rowsOf(w.inProjBias(), di, di));
        INDArray act = Activations.silu(CausalDepthwiseConv1d.step(xIn, w.convWeight(), w.convBias(), convRows));
        Tail tail = tail(act, w, s);
        INDArray y = ScanStep.step(act, tail.dt(), negExp(w.aLog()), tail.b(), tail.c(), w.d(), ssmState);
        return Linear.forward(y.muli(Activations.silu(z)), w.outProj(), w.outProjBias());
    }

    // ---- the segment split, for scoring segments of one sequence in parallel --------------------------------------
    //
    // DESIGN.md, "State passing across segments": a segment runs its scan from a zero state, giving y0 and the
    // summary (α, E) with α = exp(Σ dt ⊗ A) per (channel, state); once the exclusive scan has given its true initial
    // state S_in, every token gains Σ_n C_t·exp(A·Σ_{s ≤ t} dt_s)⊙S_in and the mixer finishes (gate, out_proj).
    // forward(x, w, s, Carry(rows, S_in)) equals finish(fromZeroState(x, w, s, rows), w, s, S_in).

    /**
     * What a segment's mixer holds at the scan when it ran from a zero state: y0 [b, T, d_inner] (scan output with
     * D·x), z [b·T, d_inner], the steps dt and C [b, T, ·] (all the initial-state term reads) and the summary.
     */
    public record ZeroStatePart(INDArray y0, INDArray z, INDArray dt, INDArray c, ScanSummary summary) {}

    /** The pre-conv x rows of x [b, T, d] (in_proj's x block): what later segments' convs read. [b, T, d_inner]. */
    public static INDArray preConvRows(INDArray x, Weights w, Spec s) {
        check(x, w, s, null);
        long rows = x.size(0) * x.size(1);
        return Linear.forward(
                        Shapes.contiguous(x).reshape(rows, s.dModel()),
                        rowsOf(w.inProj(), 0, s.dInner()),
                        rowsOf(w.inProjBias(), 0, s.dInner()))
                .reshape(x.size(0), x.size(1), s.dInner());
    }

    /** The mixer on x [b, T, d] up to and including the scan from a zero state; the conv continues convRows. */
    public static ZeroStatePart fromZeroState(INDArray x, Weights w, Spec s, INDArray convRows) {
        check(x, w, s, new Carry(convRows, null));
        Front f = front(x, w, s, convRows);
        ScanResult r = ChunkedScan.forward(f.scan(), s.chunk(), null);
        return new ZeroStatePart(
                r.y(), f.z(), f.scan().dt(), f.scan().C(), r.summary(f.scan().A()));
    }

    /** Finishes a segment's mixer from its true initial state [b, d_inner, N] (null: zeros): out [b, T, d]. */
    public static INDArray finish(ZeroStatePart part, Weights w, Spec s, INDArray initialState) {
        INDArray y = Shapes.contiguous(part.y0());
        long b = y.size(0);
        long t = y.size(1);
        if (initialState != null) {
            Shapes.requireShape("initial SSM state", initialState, y.dataType(), b, s.dInner(), s.dState());
            // The term reads dt, A and C only; y0 and C stand in for x and B, whose shapes they share.
            ScanInputs stepsAndC = new ScanInputs(y, part.dt(), negExp(w.aLog()), part.c(), part.c(), null);
            ChunkedScan.addInitialStateContribution(stepsAndC, s.chunk(), initialState, y);
        }
        INDArray gated = y.reshape(b * t, s.dInner()).mul(Activations.silu(part.z()));
        return Linear.forward(gated, w.outProj(), w.outProjBias()).reshape(b, t, s.dModel());
    }

    // ---- the Mixer interface over this layer's weights --------------------------------------------------------

    @Override
    public String kind() {
        return "mamba1";
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
                ((Mamba1Mixer) gradients).weights,
                timings);
        return new Mixer.Gradients(g.dx(), g.dCarryIn());
    }

    /** One token; a null carry (or one with null parts) starts from zeros, else its arrays advance in place. */
    @Override
    public Mixer.Result step(INDArray x, long position, Mixer.Carry carry) {
        Carry c = (Carry) carry;
        long b = x.size(0);
        INDArray rows = c == null || c.convRows() == null
                ? Nd4j.zeros(x.dataType(), b, spec.convKernel() - 1, spec.dInner())
                : c.convRows();
        INDArray state = c == null || c.ssmState() == null
                ? Nd4j.zeros(x.dataType(), b, spec.dInner(), spec.dState())
                : c.ssmState();
        return new Mixer.Result(step(x, weights, spec, rows, state), new Carry(rows, state));
    }

    @Override
    public int haloRows() {
        return spec.convKernel() - 1;
    }

    /** The pre-conv x rows [r, d_inner]: what the next segments' convs read. */
    @Override
    public INDArray[] halo(INDArray x, long position) {
        return new INDArray[] {preConvRows(x, weights, spec).reshape(x.size(1), spec.dInner())};
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

    /** Conv rows [1, K−1, d_inner] from the halo (zero-padded in front) and the SSM state [1, d_inner, N]. */
    @Override
    public Carry carry(INDArray[] halo, INDArray state) {
        return new Carry(
                halo == null ? null : CausalDepthwiseConv1d.previousRows(halo[0], spec.convKernel()),
                state == null ? null : Shapes.contiguous(state).reshape(1, spec.dInner(), spec.dState()));
    }

    @Override
    public INDArray[] haloOf(Mixer.Carry c, int rows) {
        return c == null ? null : CausalDepthwiseConv1d.halo(((Carry) c).convRows(), rows);
    }

    @Override
    public INDArray stateOf(Mixer.Carry c) {
        return c == null ? null : Shapes.asRow(((Carry) c).ssmState());
    }

    /** (α [1, d_inner·N], E [1, d_inner·N]): S_out = α⊙S_in + E, α per state entry. */
    @Override
    public INDArray passState(INDArray state, INDArray[] summary) {
        INDArray e = summary[1];
        if (state == null) {
            return e;
        }
        long[] shape = {1, spec.dInner(), spec.dState()};
        return new ScanSummary(summary[0].reshape(shape), e.reshape(shape))
                .apply(state.reshape(shape))
                .reshape(1, e.length());
    }

    @Override
    public INDArray finish(Mixer.Segment part, INDArray initialState) {
        return finish(
                ((SegmentPart) part).part(),
                weights,
                spec,
                initialState == null ? null : initialState.reshape(1, spec.dInner(), spec.dState()));
    }

    /** A segment's zero-state part with its summary as flat blocks α, E [1, d_inner·N]. */
    private record SegmentPart(ZeroStatePart part) implements Mixer.Segment {
        @Override
        public INDArray[] summary() {
            ScanSummary s = part.summary();
            return new INDArray[] {s.alpha().reshape(1, s.alpha().length()), s.E().reshape(1, s.E().length())};
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /** Rows [first, first + count) of a weight [rows, cols] or of a vector (a view; null stays null). */
    private static INDArray rowsOf(INDArray a, long first, long count) {
        if (a == null) {
            return null;
        }
        if (a.rank() == 1) {
            return Layouts.isDense(a) ? Layouts.view(a, first, count) : a.get(interval(first, first + count));
        }
        long cols = a.size(1);
        return Layouts.isDense(a)
                ? Layouts.view(a, first * cols, count, cols)
                : a.get(interval(first, first + count), all());
    }

    private static void addInto(INDArray accumulator, INDArray value) {
        if (accumulator != null && value != null) {
            accumulator.addi(value.reshape(accumulator.shape()));
        }
    }

    private static long[] check(INDArray x, Weights w, Spec s, Carry carryIn) {
        if (x == null || x.rank() != 3 || x.size(2) != s.dModel()) {
            throw new IllegalArgumentException("mamba1 mixer input x: expected shape [batch, T, " + s.dModel()
                    + "] but found " + (x == null ? "null" : Arrays.toString(x.shape())));
        }
        DataType dt = x.dataType();
        if (dt != DataType.FLOAT && dt != DataType.DOUBLE) {
            throw new IllegalArgumentException("mamba1 mixer input x: expected dtype FLOAT or DOUBLE but found " + dt);
        }
        if (w == null) {
            throw new IllegalArgumentException("mamba1 mixer weights are required but were null");
        }
        int di = s.dInner();
        Shapes.requireShape("in_proj.weight", w.inProj(), dt, 2L * di, s.dModel());
        requireIf(s.bias(), "in_proj.bias", w.inProjBias(), dt, 2L * di);
        Shapes.requireShape("conv1d.weight", w.convWeight(), dt, di, s.convKernel());
        requireIf(s.convBias(), "conv1d.bias", w.convBias(), dt, di);
        Shapes.requireShape("x_proj.weight", w.xProj(), dt, s.xProjDim(), di);
        Shapes.requireShape("dt_proj.weight", w.dtProjWeight(), dt, di, s.dtRank());
        Shapes.requireShape("dt_proj.bias", w.dtProjBias(), dt, di);
        Shapes.requireShape("A_log", w.aLog(), dt, di, s.dState());
        Shapes.requireShape("D", w.d(), dt, di);
        Shapes.requireShape("out_proj.weight", w.outProj(), dt, s.dModel(), di);
        requireIf(s.bias(), "out_proj.bias", w.outProjBias(), dt, s.dModel());
        if (carryIn != null) {
            Shapes.requireShapeIfPresent("carry convRows", carryIn.convRows(), dt, x.size(0), s.convKernel() - 1, di);
            Shapes.requireShapeIfPresent("carry ssmState", carryIn.ssmState(), dt, x.size(0), di, s.dState());
        }
        return x.shape();
    }

    /** A tensor that must be there when {@code present} and absent otherwise. */
    private static void requireIf(boolean present, String name, INDArray a, DataType dt, long... shape) {
        if (present) {
            Shapes.requireShape(name, a, dt, shape);
        } else {
            Shapes.require(a == null, "tensor '%s' is present but the config has none", name);
        }
    }
}
