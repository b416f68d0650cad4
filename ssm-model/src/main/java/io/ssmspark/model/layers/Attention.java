package io.ssmspark.model.layers;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * mamba_ssm's MHA block (without its conv and mlp options) on x [batch, T, d], always causal:
 * <ol>
 * <li>in_proj [hd·(H + 2·Hkv), d] (optional bias) gives q = the first H·hd columns as (H, hd), then kv laid out as
 * (two, Hkv, hd): k = kv[0], v = kv[1];</li>
 * <li>{@link Rotary} on the first rotaryDim dims of q and k at absolute positions positionOffset + t;</li>
 * <li>softmax(scale · q kᵀ + mask) v per head, query head h reading kv head h / (H/Hkv) (GQA);</li>
 * <li>out_proj [d, H·hd] (optional bias).</li>
 * </ol>
 * Past keys/values [batch, Tpast, Hkv, hd] (already rotated) may precede the current ones: the KV cache of
 * decoding or the halo of a segment. They are the Tpast tokens just before position positionOffset, so query i
 * sits at key index Tpast + i and may read key j when j ≤ Tpast + i and, with a window W, Tpast + i − j &lt; W
 * (itself and the W−1 keys before it).
 *
 * <p>The heads are grouped so that each kv head is multiplied once with all of its G = H/Hkv query heads: q is
 * laid out [batch, Hkv, G·T, hd] and the score matmul is batched over (batch, Hkv).
 */
public final class Attention {

    /**
     * The block's shape. softmaxScale null means 1/sqrt(headDim); windowSize 0 means full causal attention, W ≥ 1
     * a sliding window; rotaryDim 0 means no rotary embedding.
     */
    public record Spec(int numHeads, int numHeadsKv, int headDim, int rotaryDim, double rotaryBase,
            Double softmaxScale, int windowSize) {

        public Spec {
            Tensors.require(numHeads > 0 && numHeadsKv > 0 && numHeads % numHeadsKv == 0,
                    "attention heads: expected num_heads > 0 divisible by num_heads_kv > 0 but found %d and %d",
                    numHeads, numHeadsKv);
            Tensors.require(headDim > 0, "attention head_dim: expected > 0 but found %d", headDim);
            Tensors.require(rotaryDim >= 0 && rotaryDim % 2 == 0 && rotaryDim <= headDim,
                    "attention rotary_emb_dim: expected an even number in [0, head_dim=%d] but found %d", headDim,
                    rotaryDim);
            Tensors.require(rotaryDim == 0 || (rotaryBase > 0 && Double.isFinite(rotaryBase)),
                    "attention rotary_emb_base: expected a finite value > 0 but found %s", rotaryBase);
            Tensors.require(softmaxScale == null || (softmaxScale > 0 && Double.isFinite(softmaxScale)),
                    "attention softmax_scale: expected null or a finite value > 0 but found %s", softmaxScale);
            Tensors.require(windowSize >= 0, "attention window_size: expected 0 (none) or >= 1 but found %d",
                    windowSize);
        }

        /** The score scale: softmaxScale, or 1/sqrt(headDim). */
        public double scale() {
            return softmaxScale != null ? softmaxScale : 1.0 / Math.sqrt(headDim);
        }

        /** Query heads per kv head. */
        public int groupSize() {
            return numHeads / numHeadsKv;
        }

        /** Rows of in_proj.weight: hd·(H + 2·Hkv). */
        public long qkvDim() {
            return (long) headDim * (numHeads + 2L * numHeadsKv);
        }

        /** Columns of out_proj.weight: H·hd. */
        public long contextDim() {
            return (long) headDim * numHeads;
        }
    }

    /**
     * The block's parameters in PyTorch layout, or (in backward) the accumulators of their gradients. The biases
     * may be null.
     */
    public record Weights(INDArray inProjWeight, INDArray inProjBias, INDArray outProjWeight,
            INDArray outProjBias) {
    }

    /** dx, and the gradients of the past keys/values (null when there were none). */
    public record Gradients(INDArray dx, INDArray dPastKey, INDArray dPastValue) {
    }

    /**
     * The forward's result: {@link #out()} [batch, T, d], and the current rotated keys and values
     * [batch, T, Hkv, hd] for a caller's cache. The rest is kept for the backward.
     */
    public static final class Output {
        private final INDArray out;
        private final INDArray key;
        private final INDArray value;
        final long positionOffset;
        final long pastLength;
        final Rotary.Table rotary;
        final INDArray queries;   // [B, Hkv, G·T, hd], rotated
        final INDArray keys;      // [B, Hkv, Tpast+T, hd], rotated, past first
        final INDArray values;    // [B, Hkv, Tpast+T, hd]
        final INDArray probs;     // [B, Hkv, G·T, Tpast+T]
        final INDArray context;   // [B·T, H·hd]

        private Output(INDArray out, INDArray key, INDArray value, long positionOffset, long pastLength,
                Rotary.Table rotary, INDArray queries, INDArray keys, INDArray values, INDArray probs,
                INDArray context) {
            this.out = out;
            this.key = key;
            this.value = value;
            this.positionOffset = positionOffset;
            this.pastLength = pastLength;
            this.rotary = rotary;
            this.queries = queries;
            this.keys = keys;
            this.values = values;
            this.probs = probs;
            this.context = context;
        }

        public INDArray out() {
            return out;
        }

        /** The current tokens' keys after rotary, [batch, T, Hkv, hd]. */
        public INDArray key() {
            return key;
        }

        /** The current tokens' values, [batch, T, Hkv, hd]. */
        public INDArray value() {
            return value;
        }
    }

    private Attention() {
    }

    /**
     * Runs the block. pastKey/pastValue are both null or both [batch, Tpast, Hkv, hd] with Tpast ≤ positionOffset.
     */
    public static Output forward(INDArray x, Weights w, Spec spec, long positionOffset, INDArray pastKey,
            INDArray pastValue) {
        long[] xs = checkInputs(x, w, spec, positionOffset, pastKey, pastValue);
        DataType dt = x.dataType();
        long b = xs[0];
        long t = xs[1];
        long d = xs[2];
        int h = spec.numHeads();
        int hkv = spec.numHeadsKv();
        int hd = spec.headDim();
        int g = spec.groupSize();
        long past = pastKey == null ? 0 : pastKey.size(1);
        long tk = past + t;

        INDArray qkv = Linear.forward(Tensors.contiguous(x).reshape(b * t, d), w.inProjWeight(), w.inProjBias())
                .reshape(b, t, h + 2L * hkv, hd);
        Rotary.Table table = spec.rotaryDim() > 0
                ? Rotary.table(positionOffset, t, spec.rotaryDim(), spec.rotaryBase(), dt)
                : null;
        INDArray q = rotated(qkv.get(all(), all(), interval(0, h), all()), table);
        INDArray k = rotated(qkv.get(all(), all(), interval(h, h + hkv), all()), table);
        INDArray v = qkv.get(all(), all(), interval(h + hkv, h + 2 * hkv), all()).dup('c');
        INDArray kAll = past == 0 ? k : Nd4j.concat(1, pastKey, k);
        INDArray vAll = past == 0 ? v : Nd4j.concat(1, pastValue, v);

        // Head-major layouts for matmuls batched over (batch, kv head); query head h = kvHead·G + j.
        INDArray queries = q.permute(0, 2, 1, 3).dup('c').reshape(b, hkv, (long) g * t, hd);
        INDArray keys = kAll.permute(0, 2, 1, 3).dup('c');
        INDArray values = vAll.permute(0, 2, 1, 3).dup('c');

        INDArray scores = Nd4j.createUninitialized(dt, b, hkv, (long) g * t, tk);
        Tensors.mmul(queries, keys, scores, false, true, spec.scale(), 0.0);
        INDArray byQuery = scores.reshape(b, hkv, g, t, tk);
        Tensors.add(byQuery, causalMask(t, past, spec.windowSize(), dt), byQuery);
        INDArray probs = softmaxLastDim(scores);

        INDArray ctx = Nd4j.createUninitialized(dt, b, hkv, (long) g * t, hd);
        Tensors.mmul(probs, values, ctx, false, false, 1.0, 0.0);
        INDArray context = ctx.reshape(b, h, t, hd).permute(0, 2, 1, 3).dup('c').reshape(b * t, spec.contextDim());
        INDArray out = Linear.forward(context, w.outProjWeight(), w.outProjBias()).reshape(b, t, d);
        return new Output(out, k, v, positionOffset, past, table, queries, keys, values, probs, context);
    }

    /**
     * Returns dx (and d past k/v when the forward had them) and adds the parameter gradients into the non-null
     * accumulators of {@code grads}.
     */
    public static Gradients backward(INDArray x, Weights w, Spec spec, Output fwd, INDArray dOut, Weights grads) {
        long[] xs = Tensors.requireRank("x", x, 3);
        DataType dt = x.dataType();
        long b = xs[0];
        long t = xs[1];
        long d = xs[2];
        int h = spec.numHeads();
        int hkv = spec.numHeadsKv();
        int hd = spec.headDim();
        int g = spec.groupSize();
        Tensors.require(fwd != null, "attention backward: the forward's Output is required but was null");
        long past = fwd.pastLength;
        long tk = past + t;
        Tensors.requireShape("dOut", dOut, dt, xs);
        Tensors.requireShape("forward probs (x must be the forward's input)", fwd.probs, dt, b, hkv, (long) g * t, tk);
        Tensors.require(grads != null, "attention backward: the gradient accumulators are required but were null");
        Tensors.requireShapeIfPresent("d in_proj.weight", grads.inProjWeight(), dt, spec.qkvDim(), d);
        Tensors.requireShapeIfPresent("d in_proj.bias", grads.inProjBias(), dt, spec.qkvDim());
        Tensors.requireShapeIfPresent("d out_proj.weight", grads.outProjWeight(), dt, d, spec.contextDim());
        Tensors.requireShapeIfPresent("d out_proj.bias", grads.outProjBias(), dt, d);

        INDArray dContext = Linear.backward(fwd.context, w.outProjWeight(), Tensors.contiguous(dOut).reshape(b * t, d),
                grads.outProjWeight(), grads.outProjBias());
        INDArray dCtx = dContext.reshape(b, t, h, hd).permute(0, 2, 1, 3).dup('c').reshape(b, hkv, (long) g * t, hd);

        INDArray dValues = Nd4j.createUninitialized(dt, b, hkv, tk, hd);
        Tensors.mmul(fwd.probs, dCtx, dValues, true, false, 1.0, 0.0); // sums over the G query heads
        INDArray dScores = Nd4j.createUninitialized(dt, b, hkv, (long) g * t, tk);
        Tensors.mmul(dCtx, fwd.values, dScores, false, true, 1.0, 0.0);
        // softmax backward: dS = P ∘ (dP − Σ_j dP ∘ P); masked entries have P = 0 and get 0
        INDArray rowDot = dScores.mul(fwd.probs).sum(true, 3);
        Tensors.sub(dScores, rowDot, dScores).muli(fwd.probs);

        INDArray dQueries = Nd4j.createUninitialized(dt, b, hkv, (long) g * t, hd);
        Tensors.mmul(dScores, fwd.keys, dQueries, false, false, spec.scale(), 0.0);
        INDArray dKeys = Nd4j.createUninitialized(dt, b, hkv, tk, hd);
        Tensors.mmul(dScores, fwd.queries, dKeys, true, false, spec.scale(), 0.0);

        INDArray dq = dQueries.reshape(b, h, t, hd).permute(0, 2, 1, 3);
        INDArray dkAll = dKeys.permute(0, 2, 1, 3);
        INDArray dvAll = dValues.permute(0, 2, 1, 3);
        INDArray dqkv = Nd4j.createUninitialized(dt, b, t, h + 2L * hkv, hd);
        dqkv.get(all(), all(), interval(0, h), all()).assign(unrotated(dq, fwd.rotary));
        dqkv.get(all(), all(), interval(h, h + hkv), all())
                .assign(unrotated(dkAll.get(all(), interval(past, tk), all(), all()), fwd.rotary));
        dqkv.get(all(), all(), interval(h + hkv, h + 2 * hkv), all()).assign(dvAll.get(all(), interval(past, tk), all(), all()));
        INDArray dx = Linear.backward(Tensors.contiguous(x).reshape(b * t, d), w.inProjWeight(),
                dqkv.reshape(b * t, spec.qkvDim()), grads.inProjWeight(), grads.inProjBias()).reshape(b, t, d);
        if (past == 0) {
            return new Gradients(dx, null, null);
        }
        return new Gradients(dx, dkAll.get(all(), interval(0, past), all(), all()).dup('c'),
                dvAll.get(all(), interval(0, past), all(), all()).dup('c'));
    }

    /**
     * The additive mask [T, Tpast+T]: 0 where query i may read key j (0 ≤ Tpast + i − j, and &lt; window when
     * there is one), −∞ elsewhere.
     */
    static INDArray causalMask(long t, long past, int window, DataType dt) {
        INDArray queryIndex = Nd4j.linspace(DataType.DOUBLE, past, 1.0, t).reshape(t, 1);
        INDArray keyIndex = Nd4j.linspace(DataType.DOUBLE, 0.0, 1.0, past + t);
        INDArray distance = Nd4j.zeros(DataType.DOUBLE, t, past + t);
        Tensors.add(distance, queryIndex, distance);
        Tensors.sub(distance, keyIndex, distance); // distance[i, j] = Tpast + i − j
        BooleanIndexing.replaceWhere(distance, Double.NEGATIVE_INFINITY, Conditions.lessThan(0));
        if (window > 0) {
            BooleanIndexing.replaceWhere(distance, Double.NEGATIVE_INFINITY, Conditions.greaterThanOrEqual(window));
        }
        BooleanIndexing.replaceWhere(distance, 0.0, Conditions.greaterThanOrEqual(0));
        return distance.castTo(dt);
    }

    /** Numerically stable softmax over the last dimension, in place; returns the argument. */
    private static INDArray softmaxLastDim(INDArray s) {
        int last = s.rank() - 1;
        Tensors.sub(s, s.max(true, last), s);
        Transforms.exp(s, false);
        return Tensors.div(s, s.sum(true, last), s);
    }

    private static INDArray rotated(INDArray heads, Rotary.Table table) {
        return table == null ? heads.dup('c') : Rotary.apply(heads, table);
    }

    private static INDArray unrotated(INDArray dHeads, Rotary.Table table) {
        return table == null ? dHeads : Rotary.applyTransposed(dHeads, table);
    }

    private static long[] checkInputs(INDArray x, Weights w, Spec spec, long positionOffset, INDArray pastKey,
            INDArray pastValue) {
        long[] xs = Tensors.requireRank("x", x, 3);
        DataType dt = x.dataType();
        Tensors.require(w != null, "attention weights are required but were null");
        Tensors.requireShape("in_proj.weight", w.inProjWeight(), dt, spec.qkvDim(), xs[2]);
        Tensors.requireShapeIfPresent("in_proj.bias", w.inProjBias(), dt, spec.qkvDim());
        Tensors.requireShape("out_proj.weight", w.outProjWeight(), dt, xs[2], spec.contextDim());
        Tensors.requireShapeIfPresent("out_proj.bias", w.outProjBias(), dt, xs[2]);
        Tensors.require(positionOffset >= 0, "attention positionOffset: expected >= 0 but found %d", positionOffset);
        Tensors.require((pastKey == null) == (pastValue == null),
                "attention past keys/values: expected both or neither but found key %s and value %s",
                pastKey == null ? "absent" : "present", pastValue == null ? "absent" : "present");
        if (pastKey != null) {
            long[] ps = Tensors.requireRank("pastKey", pastKey, 4);
            Tensors.requireShape("pastKey", pastKey, dt, xs[0], ps[1], spec.numHeadsKv(), spec.headDim());
            Tensors.requireShape("pastValue", pastValue, dt, ps);
            Tensors.require(ps[1] <= positionOffset,
                    "attention past keys: %d past rows cannot precede the first query at position %d", ps[1],
                    positionOffset);
        }
        return xs;
    }
}
