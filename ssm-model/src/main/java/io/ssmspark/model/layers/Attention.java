package io.ssmspark.model.layers;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
 * laid out [batch, Hkv, T·G, hd] (row = token·G + j) and {@link AttentionKernel} runs the softmax attention over
 * blocks of query tokens, batched over (batch, kv head), without ever holding the full [T, Tpast+T] scores.
 */
public final class Attention {

    /**
     * The block's shape. softmaxScale null means 1/sqrt(headDim); windowSize 0 means full causal attention, W ≥ 1
     * a sliding window; rotaryDim 0 means no rotary embedding.
     */
    public record Spec(
            int numHeads,
            int numHeadsKv,
            int headDim,
            int rotaryDim,
            double rotaryBase,
            Double softmaxScale,
            int windowSize) {

        public Spec {
            Shapes.require(
                    numHeads > 0 && numHeadsKv > 0 && numHeads % numHeadsKv == 0,
                    "attention heads: expected num_heads > 0 divisible by num_heads_kv > 0 but found %d and %d",
                    numHeads,
                    numHeadsKv);
            Shapes.require(headDim > 0, "attention head_dim: expected > 0 but found %d", headDim);
            Shapes.require(
                    rotaryDim >= 0 && rotaryDim % 2 == 0 && rotaryDim <= headDim,
                    "attention rotary_emb_dim: expected an even number in [0, head_dim=%d] but found %d",
                    headDim,
                    rotaryDim);
            Shapes.require(
                    rotaryDim == 0 || (rotaryBase > 0 && Double.isFinite(rotaryBase)),
                    "attention rotary_emb_base: expected a finite value > 0 but found %s",
                    rotaryBase);
            Shapes.require(
                    softmaxScale == null || (softmaxScale > 0 && Double.isFinite(softmaxScale)),
                    "attention softmax_scale: expected null or a finite value > 0 but found %s",
                    softmaxScale);
            Shapes.require(
                    windowSize >= 0, "attention window_size: expected 0 (none) or >= 1 but found %d", windowSize);
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
    public record Weights(INDArray inProjWeight, INDArray inProjBias, INDArray outProjWeight, INDArray outProjBias) {}

    /** dx, and the gradients of the past keys/values (null when there were none). */
    public record Gradients(INDArray dx, INDArray dPastKey, INDArray dPastValue) {}

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
        final AttentionKernel.Geometry geometry;
        final INDArray queries; // [B, Hkv, T·G, hd], rotated, row = token·G + j
        final INDArray keys; // [B, Hkv, Tpast+T, hd], rotated, past first
        final INDArray values; // [B, Hkv, Tpast+T, hd]
        final AttentionKernel.Result attended; // O [B, Hkv, T·G, hd] and the blocks' probabilities
        final INDArray context; // [B·T, H·hd]

        private Output(
                INDArray out,
                INDArray key,
                INDArray value,
                long positionOffset,
                long pastLength,
                Rotary.Table rotary,
                AttentionKernel.Geometry geometry,
                INDArray queries,
                INDArray keys,
                INDArray values,
                AttentionKernel.Result attended,
                INDArray context) {
            this.out = out;
            this.key = key;
            this.value = value;
            this.positionOffset = positionOffset;
            this.pastLength = pastLength;
            this.rotary = rotary;
            this.geometry = geometry;
            this.queries = queries;
            this.keys = keys;
            this.values = values;
            this.attended = attended;
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

    private Attention() {}

    /**
     * Runs the block. pastKey/pastValue are both null or both [batch, Tpast, Hkv, hd] with Tpast ≤ positionOffset.
     */
    public static Output forward(
            INDArray x, Weights w, Spec spec, long positionOffset, INDArray pastKey, INDArray pastValue) {
        return forward(x, w, spec, positionOffset, pastKey, pastValue, AttentionKernel.DEFAULT_BLOCK_ELEMENTS);
    }

    /** {@link #forward} with the kernel's score block size given (tests use small blocks). */
    static Output forward(
            INDArray x,
            Weights w,
            Spec spec,
            long positionOffset,
            INDArray pastKey,
            INDArray pastValue,
            long blockElements) {
        Projected p = project(x, w, spec, positionOffset, pastKey, pastValue);
        AttentionKernel.Result attended =
                AttentionKernel.forward(p.queryRows, p.keys, p.values, p.geometry, blockElements);
        INDArray context = context(attended.out(), p.geometry, spec);
        INDArray out =
                Linear.forward(context, w.outProjWeight(), w.outProjBias()).reshape(x.shape());
        return new Output(
                out,
                p.key,
                p.value,
                positionOffset,
                p.geometry.past(),
                p.rotary,
                p.geometry,
                p.queryRows,
                p.keys,
                p.values,
                attended,
                context);
    }

    /** The block's output and the current tokens' keys and values, without what a backward would need. */
    public record Inference(INDArray out, INDArray key, INDArray value) {}

    /**
     * The forward for scoring and decoding: the same output as {@link #forward}, computed with a running softmax
     * over key blocks, so its working memory does not grow with the number of past keys (only the keys and values
     * themselves do), and nothing is kept for a backward.
     */
    public static Inference infer(
            INDArray x, Weights w, Spec spec, long positionOffset, INDArray pastKey, INDArray pastValue) {
        return infer(x, w, spec, positionOffset, pastKey, pastValue, AttentionKernel.DEFAULT_BLOCK_ELEMENTS);
    }

    /** {@link #infer} with the kernel's score block size given (tests use small blocks). */
    static Inference infer(
            INDArray x,
            Weights w,
            Spec spec,
            long positionOffset,
            INDArray pastKey,
            INDArray pastValue,
            long blockElements) {
        Projected p = project(x, w, spec, positionOffset, pastKey, pastValue);
        INDArray attended = AttentionKernel.attend(p.queryRows, p.keys, p.values, p.geometry, blockElements);
        INDArray out = Linear.forward(context(attended, p.geometry, spec), w.outProjWeight(), w.outProjBias());
        return new Inference(out.reshape(x.shape()), p.key, p.value);
    }

    /**
     * The rotated keys and values [batch, T, Hkv, hd] of x's tokens at positions positionOffset.., without
     * attending: a key or value depends only on its own row and position (in_proj, then rotary on k).
     */
    public static Inference keysAndValues(INDArray x, Weights w, Spec spec, long positionOffset) {
        long[] xs = checkInputs(x, w, spec, positionOffset, null, null);
        int h = spec.numHeads();
        int hkv = spec.numHeadsKv();
        long rows = xs[0] * xs[1];
        INDArray flat = Shapes.contiguous(x).reshape(rows, xs[2]);
        // only the k and v rows of in_proj: [hd·(H + 2·Hkv), d] has q first
        long from = (long) h * spec.headDim();
        INDArray weight = w.inProjWeight().get(interval(from, spec.qkvDim()), all());
        INDArray bias = w.inProjBias() == null ? null : w.inProjBias().get(interval(from, spec.qkvDim()));
        INDArray kv = Linear.forward(flat, weight.dup('c'), bias == null ? null : bias.dup('c'))
                .reshape(xs[0], xs[1], 2L * hkv, spec.headDim());
        Rotary.Table table = spec.rotaryDim() > 0
                ? Rotary.table(positionOffset, xs[1], spec.rotaryDim(), spec.rotaryBase(), x.dataType())
                : null;
        INDArray k = rotated(kv.get(all(), all(), interval(0, hkv), all()), table);
        INDArray v = kv.get(all(), all(), interval(hkv, 2L * hkv), all()).dup('c');
        return new Inference(null, k, v);
    }

    /** The projected, rotated heads in the kernel's layouts, and the current tokens' own keys and values. */
    private record Projected(
            INDArray queryRows,
            INDArray keys,
            INDArray values,
            INDArray key,
            INDArray value,
            Rotary.Table rotary,
            AttentionKernel.Geometry geometry) {}

    private static Projected project(
            INDArray x, Weights w, Spec spec, long positionOffset, INDArray pastKey, INDArray pastValue) {
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

        INDArray qkv = Linear.forward(Shapes.contiguous(x).reshape(b * t, d), w.inProjWeight(), w.inProjBias())
                .reshape(b, t, h + 2L * hkv, hd);
        Rotary.Table table =
                spec.rotaryDim() > 0 ? Rotary.table(positionOffset, t, spec.rotaryDim(), spec.rotaryBase(), dt) : null;
        INDArray q = rotated(qkv.get(all(), all(), interval(0, h), all()), table);
        INDArray k = rotated(qkv.get(all(), all(), interval(h, h + hkv), all()), table);
        INDArray v =
                qkv.get(all(), all(), interval(h + hkv, h + 2 * hkv), all()).dup('c');
        // Head-major layouts for matmuls batched over (batch, kv head); query head h = kvHead·G + j.
        INDArray queries = Nd4j.createUninitialized(dt, b, hkv, t, g, hd);
        Layouts.assignPermuted(queries, q.reshape(b, t, hkv, g, hd), 0, 2, 1, 3, 4);
        INDArray keys = headMajor(pastKey, k, past, t);
        INDArray values = headMajor(pastValue, v, past, t);
        AttentionKernel.Geometry geo =
                new AttentionKernel.Geometry(b, hkv, g, t, past, spec.windowSize(), hd, spec.scale(), dt);
        return new Projected(Layouts.reshapeView(queries, b, hkv, t * g, hd), keys, values, k, v, table, geo);
    }

    /** Past then current rows [B, T·, Hkv, hd] as one head-major [B, Hkv, Tpast+T, hd] array (no concat copy). */
    private static INDArray headMajor(INDArray past, INDArray current, long pastLength, long t) {
        INDArray heads = Nd4j.createUninitialized(
                current.dataType(), current.size(0), current.size(2), pastLength + t, current.size(3));
        if (pastLength > 0) {
            heads.get(all(), all(), interval(0, pastLength), all()).assign(past.permute(0, 2, 1, 3));
        }
        heads.get(all(), all(), interval(pastLength, pastLength + t), all()).assign(current.permute(0, 2, 1, 3));
        return heads;
    }

    /** The attended rows O [B, Hkv, T·G, hd] back in token-major order, [B·T, H·hd], for out_proj. */
    private static INDArray context(INDArray attended, AttentionKernel.Geometry geo, Spec spec) {
        long b = geo.batch();
        long t = geo.tokens();
        INDArray context = Nd4j.createUninitialized(geo.dtype(), b, t, geo.kvHeads(), geo.group(), geo.headDim());
        Layouts.assignPermuted(
                context, Layouts.reshapeView(attended, b, geo.kvHeads(), t, geo.group(), geo.headDim()), 0, 2, 1, 3, 4);
        return Layouts.reshapeView(context, b * t, spec.contextDim());
    }

    /**
     * Returns dx (and d past k/v when the forward had them) and adds the parameter gradients into the non-null
     * accumulators of {@code grads}.
     */
    public static Gradients backward(INDArray x, Weights w, Spec spec, Output fwd, INDArray dOut, Weights grads) {
        return backward(x, w, spec, fwd, dOut, grads, null, null, AttentionKernel.DEFAULT_BLOCK_ELEMENTS);
    }

    /**
     * {@link #backward} when the last {@code r} rotated keys and values of [past, this window] are also used later
     * (a carry to the next window): {@code dKeptKey}/{@code dKeptValue} [batch, r, Hkv, hd] (both null, or both
     * given) are their gradients, added to those the window's own queries give.
     */
    public static Gradients backward(
            INDArray x,
            Weights w,
            Spec spec,
            Output fwd,
            INDArray dOut,
            Weights grads,
            INDArray dKeptKey,
            INDArray dKeptValue) {
        return backward(x, w, spec, fwd, dOut, grads, dKeptKey, dKeptValue, AttentionKernel.DEFAULT_BLOCK_ELEMENTS);
    }

    /** {@link #backward} with the kernel's score block size given (tests use small blocks). */
    static Gradients backward(
            INDArray x, Weights w, Spec spec, Output fwd, INDArray dOut, Weights grads, long blockElements) {
        return backward(x, w, spec, fwd, dOut, grads, null, null, blockElements);
    }

    private static Gradients backward(
            INDArray x,
            Weights w,
            Spec spec,
            Output fwd,
            INDArray dOut,
            Weights grads,
            INDArray dKeptKey,
            INDArray dKeptValue,
            long blockElements) {
        long[] xs = Shapes.requireRank("x", x, 3);
        DataType dt = x.dataType();
        long b = xs[0];
        long t = xs[1];
        long d = xs[2];
        int h = spec.numHeads();
        int hkv = spec.numHeadsKv();
        int hd = spec.headDim();
        int g = spec.groupSize();
        Shapes.require(fwd != null, "attention backward: the forward's Output is required but was null");
        long past = fwd.pastLength;
        long tk = past + t;
        Shapes.requireShape("dOut", dOut, dt, xs);
        Shapes.requireShape(
                "forward queries (x must be the forward's input)", fwd.queries, dt, b, hkv, (long) g * t, hd);
        Shapes.require(grads != null, "attention backward: the gradient accumulators are required but were null");
        Shapes.requireShapeIfPresent("d in_proj.weight", grads.inProjWeight(), dt, spec.qkvDim(), d);
        Shapes.requireShapeIfPresent("d in_proj.bias", grads.inProjBias(), dt, spec.qkvDim());
        Shapes.requireShapeIfPresent("d out_proj.weight", grads.outProjWeight(), dt, d, spec.contextDim());
        Shapes.requireShapeIfPresent("d out_proj.bias", grads.outProjBias(), dt, d);

        INDArray dContext = Linear.backward(
                fwd.context,
                w.outProjWeight(),
                Shapes.contiguous(dOut).reshape(b * t, d),
                grads.outProjWeight(),
                grads.outProjBias());
        INDArray dAttended = Nd4j.createUninitialized(dt, b, hkv, t, g, hd);
        Layouts.assignPermuted(dAttended, Shapes.contiguous(dContext).reshape(b, t, hkv, g, hd), 0, 2, 1, 3, 4);

        INDArray dQueries = Nd4j.createUninitialized(dt, b, hkv, t, g, hd);
        INDArray dKeys = Nd4j.zeros(dt, b, hkv, tk, hd);
        INDArray dValues = Nd4j.zeros(dt, b, hkv, tk, hd);
        AttentionKernel.backward(
                fwd.queries,
                fwd.keys,
                fwd.values,
                fwd.attended,
                Layouts.reshapeView(dAttended, b, hkv, t * g, hd),
                fwd.geometry,
                blockElements,
                Layouts.reshapeView(dQueries, b, hkv, t * g, hd),
                dKeys,
                dValues);

        INDArray dq = dQueries.permute(0, 2, 1, 3, 4).reshape(b, t, h, hd);
        INDArray dkAll = dKeys.permute(0, 2, 1, 3);
        INDArray dvAll = dValues.permute(0, 2, 1, 3);
        Shapes.require(
                (dKeptKey == null) == (dKeptValue == null),
                "attention backward: the kept keys' and values' gradients are both given or both null");
        if (dKeptKey != null) {
            long kept = dKeptKey.size(1);
            Shapes.require(kept <= tk, "attention backward: %d kept rows but the window saw %d keys", kept, tk);
            Shapes.requireShape("d kept keys", dKeptKey, dt, b, kept, hkv, hd);
            Shapes.requireShape("d kept values", dKeptValue, dt, b, kept, hkv, hd);
            dkAll.get(all(), interval(tk - kept, tk), all(), all()).addi(dKeptKey);
            dvAll.get(all(), interval(tk - kept, tk), all(), all()).addi(dKeptValue);
        }
        INDArray dqkv = Nd4j.createUninitialized(dt, b, t, h + 2L * hkv, hd);
        dqkv.get(all(), all(), interval(0, h), all()).assign(unrotated(dq, fwd.rotary));
        dqkv.get(all(), all(), interval(h, h + hkv), all())
                .assign(unrotated(dkAll.get(all(), interval(past, tk), all(), all()), fwd.rotary));
        dqkv.get(all(), all(), interval(h + hkv, h + 2 * hkv), all())
                .assign(dvAll.get(all(), interval(past, tk), all(), all()));
        INDArray dx = Linear.backward(
                        Shapes.contiguous(x).reshape(b * t, d),
                        w.inProjWeight(),
                        dqkv.reshape(b * t, spec.qkvDim()),
                        grads.inProjWeight(),
                        grads.inProjBias())
                .reshape(b, t, d);
        if (past == 0) {
            return new Gradients(dx, null, null);
        }
        return new Gradients(
                dx,
                dkAll.get(all(), interval(0, past), all(), all()).dup('c'),
                dvAll.get(all(), interval(0, past), all(), all()).dup('c'));
    }

    private static INDArray rotated(INDArray heads, Rotary.Table table) {
        return table == null ? heads.dup('c') : Rotary.apply(heads, table);
    }

    private static INDArray unrotated(INDArray dHeads, Rotary.Table table) {
        return table == null ? dHeads : Rotary.applyTransposed(dHeads, table);
    }

    private static long[] checkInputs(
            INDArray x, Weights w, Spec spec, long positionOffset, INDArray pastKey, INDArray pastValue) {
        long[] xs = Shapes.requireRank("x", x, 3);
        DataType dt = x.dataType();
        Shapes.require(w != null, "attention weights are required but were null");
        Shapes.requireShape("in_proj.weight", w.inProjWeight(), dt, spec.qkvDim(), xs[2]);
        Shapes.requireShapeIfPresent("in_proj.bias", w.inProjBias(), dt, spec.qkvDim());
        Shapes.requireShape("out_proj.weight", w.outProjWeight(), dt, xs[2], spec.contextDim());
        Shapes.requireShapeIfPresent("out_proj.bias", w.outProjBias(), dt, xs[2]);
        Shapes.require(positionOffset >= 0, "attention positionOffset: expected >= 0 but found %d", positionOffset);
        Shapes.require(
                (pastKey == null) == (pastValue == null),
                "attention past keys/values: expected both or neither but found key %s and value %s",
                pastKey == null ? "absent" : "present",
                pastValue == null ? "absent" : "present");
        if (pastKey != null) {
            long[] ps = Shapes.requireRank("pastKey", pastKey, 4);
            Shapes.requireShape("pastKey", pastKey, dt, xs[0], ps[1], spec.numHeadsKv(), spec.headDim());
            Shapes.requireShape("pastValue", pastValue, dt, ps);
            Shapes.require(
                    ps[1] <= positionOffset,
                    "attention past keys: %d past rows cannot precede the first query at position %d",
                    ps[1],
                    positionOffset);
        }
        return xs;
    }
}
