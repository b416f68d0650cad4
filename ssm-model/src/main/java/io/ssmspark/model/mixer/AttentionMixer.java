package io.ssmspark.model.mixer;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.tensor.Shapes;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The attention block ({@link Attention}: training forward and backward, the running-softmax {@link Attention#infer}
 * and {@link Attention#keysAndValues}) bound to one layer's weights, as a {@link Mixer}. Its carry is the rotated
 * past keys and values: all of them under full attention, the last window−1 with a sliding window.
 */
public final class AttentionMixer implements Mixer {

    /** The layers of attn_layer_idx: mamba_ssm's MHA parameters (in_proj = Wqkv, out_proj), nn.Linear's init. */
    public static final MixerFamily FAMILY = new MixerFamily() {
        @Override
        public List<MixerParameter> parameters(MambaConfig c) {
            long d = c.dModel();
            long qkv = (long) c.attnHeadDim() * (c.attnNumHeads() + 2L * c.attnNumHeadsKv()); // long: see ModelSize
            long out = (long) c.attnHeadDim() * c.attnNumHeads();
            List<MixerParameter> p = new ArrayList<>();
            p.add(MixerParameter.weight("in_proj.weight", ParameterInit.linear(d), qkv, d));
            if (c.attn().qkvProjBias()) {
                p.add(MixerParameter.plain("in_proj.bias", ParameterInit.constant(0.0), qkv));
            }
            p.add(MixerParameter.weight("out_proj.weight", ParameterInit.residualLinear(out), d, out));
            if (c.attn().outProjBias()) {
                p.add(MixerParameter.plain("out_proj.bias", ParameterInit.constant(0.0), c.dModel()));
            }
            return p;
        }

        @Override
        public Mixer create(MambaConfig c, Function<String, INDArray> t) {
            return new AttentionMixer(
                    new Attention.Weights(
                            t.apply("in_proj.weight"),
                            t.apply("in_proj.bias"),
                            t.apply("out_proj.weight"),
                            t.apply("out_proj.bias")),
                    spec(c));
        }
    };

    /** The attention block's spec from attn_cfg. */
    public static Attention.Spec spec(MambaConfig c) {
        AttnConfig a = c.attn();
        return new Attention.Spec(
                c.attnNumHeads(),
                c.attnNumHeadsKv(),
                c.attnHeadDim(),
                a.rotaryEmbDim(),
                a.rotaryEmbBase(),
                a.softmaxScale(),
                a.windowSize() == null ? 0 : a.windowSize());
    }

    /** Rotated past keys and values [batch, Tpast, Hkv, hd]; both null when none are needed. */
    public record KeyValues(INDArray keys, INDArray values) implements Mixer.Carry {
        @Override
        public long batch() {
            return keys == null ? -1 : keys.size(0);
        }

        @Override
        public KeyValues map(UnaryOperator<INDArray> f) {
            return keys == null ? this : new KeyValues(f.apply(keys), f.apply(values));
        }
    }

    /** A training window: the block's forward (kept for the backward) and the keys/values to continue from. */
    private record TrainingWindow(Attention.Output output, KeyValues carryOut) implements Mixer.Window {
        @Override
        public INDArray out() {
            return output.out();
        }
    }

    /** A segment's block output: attention has no state to wait for. */
    private record Attended(INDArray out) implements Mixer.Segment {
        @Override
        public INDArray[] summary() {
            return null;
        }
    }

    private final Attention.Weights weights;
    private final Attention.Spec spec;

    /** Layer weights {@code weights} (or, as the {@code gradients} of a backward, their accumulators). */
    public AttentionMixer(Attention.Weights weights, Attention.Spec spec) {
        this.weights = weights;
        this.spec = spec;
    }

    public Attention.Weights weights() {
        return weights;
    }

    public Attention.Spec spec() {
        return spec;
    }

    @Override
    public String kind() {
        return spec.windowSize() == 0 ? "attention-full" : "attention-window";
    }

    @Override
    public LayerTimings.Part timingPart() {
        return LayerTimings.Part.ATTENTION;
    }

    @Override
    public Mixer.Window forward(INDArray x, long position, Mixer.Carry carryIn, LayerTimings timings) {
        KeyValues past = past(carryIn);
        Attention.Output o = Attention.forward(x, weights, spec, position, past.keys(), past.values());
        return new TrainingWindow(o, kept(past, o.key(), o.value()));
    }

    @Override
    public Mixer.Window infer(INDArray x, long position, Mixer.Carry carryIn) {
        KeyValues past = past(carryIn);
        Attention.Inference o = Attention.infer(x, weights, spec, position, past.keys(), past.values());
        return new Mixer.Result(o.out(), kept(past, o.key(), o.value()));
    }

    /**
     * dCarryIn holds the past keys/values' gradients; {@code dCarryOut}, the gradients of the kept keys/values (the
     * carry to the next window), adds into those of the rows it kept.
     */
    @Override
    public Mixer.Gradients backward(
            INDArray x,
            Mixer.Window forward,
            INDArray dOut,
            Mixer.Carry dCarryOut,
            Mixer gradients,
            LayerTimings timings) {
        KeyValues dKept = (KeyValues) dCarryOut;
        Attention.Gradients g = Attention.backward(
                x,
                weights,
                spec,
                ((TrainingWindow) forward).output(),
                dOut,
                ((AttentionMixer) gradients).weights,
                dKept == null ? null : dKept.keys(),
                dKept == null ? null : dKept.values());
        return new Mixer.Gradients(g.dx(), g.dPastKey() == null ? null : new KeyValues(g.dPastKey(), g.dPastValue()));
    }

    @Override
    public Mixer.Result step(INDArray x, long position, Mixer.Carry carry) {
        long b = x.size(0);
        long d = x.size(1);
        Mixer.Window w = infer(x.reshape(b, 1, d), position, carry);
        return new Mixer.Result(Shapes.contiguous(w.out()).reshape(b, d), w.carryOut());
    }

    @Override
    public int haloRows() {
        return spec.windowSize() == 0 ? Integer.MAX_VALUE : spec.windowSize() - 1;
    }

    /** The rotated keys and values [r, Hkv·hd] of x's tokens, without attending. */
    @Override
    public INDArray[] halo(INDArray x, long position) {
        Attention.Inference kv = Attention.keysAndValues(x, weights, spec, position);
        long rows = x.size(1);
        long cols = (long) spec.numHeadsKv() * spec.headDim();
        return new INDArray[] {kv.key().reshape(rows, cols), kv.value().reshape(rows, cols)};
    }

    @Override
    public boolean carriesState() {
        return false;
    }

    /** Attends to the halo's keys and values (the tokens just before {@code position}) and its own. */
    @Override
    public Mixer.Segment fromZeroState(INDArray x, long position, INDArray[] halo) {
        KeyValues past = halo == null ? new KeyValues(null, null) : new KeyValues(heads(halo[0]), heads(halo[1]));
        return new Attended(Attention.infer(x, weights, spec, position, past.keys(), past.values())
                .out());
    }

    @Override
    public INDArray passState(INDArray state, INDArray[] summary) {
        throw new UnsupportedOperationException("attention passes no state between segments");
    }

    /** The halo's rotated keys and values as past keys/values [1, r, Hkv, hd]; attention has no state. */
    @Override
    public KeyValues carry(INDArray[] halo, INDArray state) {
        Shapes.require(state == null, "attention carries no state between segments");
        return halo == null ? null : new KeyValues(heads(halo[0]), heads(halo[1]));
    }

    @Override
    public INDArray[] haloOf(Mixer.Carry c, int rows) {
        KeyValues kv = (KeyValues) c;
        if (kv == null || kv.keys() == null) {
            return null;
        }
        return new INDArray[] {lastRows(kv.keys(), rows), lastRows(kv.values(), rows)};
    }

    @Override
    public INDArray stateOf(Mixer.Carry c) {
        return null;
    }

    @Override
    public INDArray passStateGradient(INDArray dStateOut, INDArray[] summary) {
        throw new UnsupportedOperationException("attention passes no state between segments");
    }

    /** The last {@code rows} positions of [1, T, Hkv, hd] as [rows, Hkv·hd]. */
    private INDArray lastRows(INDArray a, int rows) {
        long t = a.size(1);
        return a.get(point(0), interval(t - rows, t), all(), all())
                .dup('c')
                .reshape(rows, (long) spec.numHeadsKv() * spec.headDim());
    }

    @Override
    public INDArray finish(Mixer.Segment part, INDArray initialState) {
        return ((Attended) part).out();
    }

    private INDArray heads(INDArray rows) {
        return rows.reshape(1, rows.size(0), spec.numHeadsKv(), spec.headDim());
    }

    private static KeyValues past(Mixer.Carry carry) {
        return carry == null ? new KeyValues(null, null) : (KeyValues) carry;
    }

    /**
     * The past keys/values the next window needs after {@code key}/{@code value} [batch, T, Hkv, hd] followed the
     * past ones: all of them, or the last window−1 with a sliding window.
     */
    private KeyValues kept(KeyValues past, INDArray key, INDArray value) {
        INDArray keys = past.keys() == null ? key : Nd4j.concat(1, past.keys(), key);
        INDArray values = past.values() == null ? value : Nd4j.concat(1, past.values(), value);
        int window = spec.windowSize();
        if (window == 0) {
            return new KeyValues(keys, values);
        }
        long keep = Math.min(window - 1L, keys.size(1));
        if (keep == 0) {
            return new KeyValues(null, null);
        }
        long total = keys.size(1);
        if (keep == total) {
            return new KeyValues(keys, values);
        }
        return new KeyValues(
                keys.get(all(), interval(total - keep, total), all(), all()).dup('c'),
                values.get(all(), interval(total - keep, total), all(), all()).dup('c'));
    }
}
