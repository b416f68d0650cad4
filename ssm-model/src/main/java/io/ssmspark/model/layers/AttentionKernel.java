package io.ssmspark.model.layers;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Scratch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The core of {@link Attention}: O = softmax(scale · Q Kᵀ + mask) V per (batch, kv head), computed over blocks of
 * query tokens so the scores never exist at full [T, Tpast+T] size. Each block reads only the keys its queries may
 * see (causal, and inside the window when there is one), so blocks of a causal sequence skip the masked half.
 *
 * <p>Layouts: queries [B, Hkv, T·G, hd] with row r = token·G + j for the G query heads of a kv head; keys and values
 * [B, Hkv, Tpast+T, hd], past first. Query token i sits at key index Tpast + i.
 *
 * <p>Each block covers all the keys its rows may read, so its softmax is complete within the block. The forward
 * keeps the blocks' probabilities for the backward while they total at most {@link #KEPT_PROBABILITY_ELEMENTS}
 * (a training window); beyond that (long segments) the backward recomputes them block by block. The backward
 * uses, per row, Σ_j P_ij dP_ij = dO_i · O_i (since O_i = Σ_j P_ij V_j and dP_ij = dO_i · V_j).
 */
final class AttentionKernel {

    /** Score elements per block (2^21: 8 MB in fp32), which bounds the working memory of both passes. */
    static final long DEFAULT_BLOCK_ELEMENTS = 1L << 21;

    /** The problem's sizes: B, Hkv, G, T query tokens, Tpast keys before them, the window W (0 = none). */
    record Geometry(
            long batch,
            int kvHeads,
            int group,
            long tokens,
            long past,
            int window,
            int headDim,
            double scale,
            DataType dtype) {

        long keys() {
            return past + tokens;
        }

        long rows() {
            return tokens * group;
        }

        /** Query tokens per block so that one block's scores hold at most {@code blockElements}. */
        long blockTokens(long blockElements) {
            long keysPerRow = window > 0 ? Math.min(keys(), window) : keys();
            long perToken = batch * kvHeads * group * keysPerRow;
            return Math.max(1, Math.min(tokens, blockElements / Math.max(1, perToken)));
        }

        /** Query tokens [i0, i1) read keys [k0, k1): k1 = Tpast + i1, k0 = Tpast + i0 − W + 1 with a window. */
        Block block(long i0, long i1) {
            long k1 = past + i1;
            long k0 = window > 0 ? Math.max(0, past + i0 - window + 1) : 0;
            return new Block(i0, i1, k0, k1);
        }
    }

    /** Query tokens [i0, i1) and the key range [k0, k1) they read. */
    record Block(long i0, long i1, long k0, long k1) {
        long tokens() {
            return i1 - i0;
        }

        long keys() {
            return k1 - k0;
        }
    }

    /**
     * The forward's output O [B, Hkv, T·G, hd], and each block's probabilities [B, Hkv, rows, keys] when they fit
     * in {@link #KEPT_PROBABILITY_ELEMENTS} (null otherwise: the backward then recomputes them).
     */
    record Result(INDArray out, List<INDArray> probabilities, long blockTokens) {}

    /** The most probability elements a forward keeps for its backward (2^25: 128 MB in fp32). */
    static final long KEPT_PROBABILITY_ELEMENTS = 1L << 25;

    private AttentionKernel() {}

    static Result forward(INDArray queries, INDArray keys, INDArray values, Geometry geo, long blockElements) {
        int hd = geo.headDim();
        INDArray out = Nd4j.createUninitialized(geo.dtype(), geo.batch(), geo.kvHeads(), geo.rows(), hd);
        BlockBuffers s = new BlockBuffers(geo, blockElements, false);
        List<INDArray> kept = s.probabilityElements <= KEPT_PROBABILITY_ELEMENTS ? new ArrayList<>() : null;
        for (long i0 = 0; i0 < geo.tokens(); i0 += s.blockTokens) {
            Block blk = geo.block(i0, Math.min(geo.tokens(), i0 + s.blockTokens));
            long rows = blk.tokens() * geo.group();
            INDArray p = kept != null
                    ? Nd4j.createUninitialized(geo.dtype(), geo.batch(), geo.kvHeads(), rows, blk.keys())
                    : Layouts.view(s.scores, 0, geo.batch(), geo.kvHeads(), rows, blk.keys());
            probabilities(rowsOf(s.q, queries, blk, geo, hd), keysOf(s.k, keys, blk, hd), blk, geo, p);
            INDArray o = Layouts.view(s.o, 0, geo.batch(), geo.kvHeads(), rows, hd);
            Ops.matmul(p, keysOf(s.v, values, blk, hd), o, false, false);
            long r0 = blk.i0() * geo.group();
            out.get(all(), all(), interval(r0, r0 + rows), all()).assign(o);
            if (kept != null) {
                kept.add(p);
            }
        }
        return new Result(out, kept, s.blockTokens);
    }

    /**
     * The output O [B, Hkv, T·G, hd] alone, for scoring and decoding: the same attention as {@link #forward}, but
     * each query block walks its keys in blocks with a running softmax (FlashAttention's forward), so no array spans
     * more than one query block × one key block, however many keys precede. Per row, after each key block with
     * scores s_j: m' = max(m, max_j s_j), l' = e^(m−m') l + Σ_j e^(s_j−m'), acc' = e^(m−m') acc + Σ_j e^(s_j−m') V_j;
     * O = acc / l. The first key block ends at the block's last query and is at least as long as the block, so it
     * holds every query's own key and each running max is finite after it (masked scores are −∞ and add 0).
     */
    static INDArray attend(INDArray queries, INDArray keys, INDArray values, Geometry geo, long blockElements) {
        int hd = geo.headDim();
        long b = geo.batch();
        int hkv = geo.kvHeads();
        long heads = b * hkv * geo.group();
        long queryTokens = Math.max(1, Math.min(geo.tokens(), (long) Math.sqrt((double) blockElements / heads)));
        long keyBlock = Math.min(geo.keys(), Math.max(queryTokens, blockElements / (heads * queryTokens)));
        long maxRows = queryTokens * geo.group();
        DataType dt = geo.dtype();
        INDArray out = Nd4j.createUninitialized(dt, b, hkv, geo.rows(), hd);
        INDArray qBuf = Nd4j.createUninitialized(dt, b * hkv * maxRows * hd);
        INDArray accBuf = Nd4j.createUninitialized(dt, b * hkv * maxRows * hd);
        INDArray kBuf = Nd4j.createUninitialized(dt, b * hkv * keyBlock * hd);
        INDArray vBuf = Nd4j.createUninitialized(dt, b * hkv * keyBlock * hd);
        INDArray sBuf = Nd4j.createUninitialized(dt, b * hkv * maxRows * keyBlock);
        INDArray[] rowBufs = new INDArray[4]; // running max, running sum, block max, rescale factor
        for (int i = 0; i < rowBufs.length; i++) {
            rowBufs[i] = Nd4j.createUninitialized(dt, b * hkv * maxRows);
        }
        for (long i0 = 0; i0 < geo.tokens(); i0 += queryTokens) {
            Block blk = geo.block(i0, Math.min(geo.tokens(), i0 + queryTokens));
            long rows = blk.tokens() * geo.group();
            INDArray q = rowsOf(qBuf, queries, blk, geo, hd);
            INDArray acc = Layouts.view(accBuf, 0, b, hkv, rows, hd).assign(0);
            INDArray runMax = Layouts.view(rowBufs[0], 0, b, hkv, rows).assign(Double.NEGATIVE_INFINITY);
            INDArray runSum = Layouts.view(rowBufs[1], 0, b, hkv, rows).assign(0);
            INDArray blockMax = Layouts.view(rowBufs[2], 0, b, hkv, rows);
            INDArray rescale = Layouts.view(rowBufs[3], 0, b, hkv, rows);
            for (long c1 = blk.k1(); c1 > blk.k0(); c1 -= keyBlock) {
                Block part = new Block(blk.i0(), blk.i1(), Math.max(blk.k0(), c1 - keyBlock), c1);
                INDArray k = keysOf(kBuf, keys, part, hd);
                INDArray v = keysOf(vBuf, values, part, hd);
                INDArray s = Layouts.view(sBuf, 0, b, hkv, rows, part.keys());
                if (masked(geo.past() + part.i0(), part.tokens(), part.k0(), part.keys(), geo.window())) {
                    try (Scratch mask = Scratch.open()) { // frees an edge block's mask
                        scores(q, k, part, geo, s);
                    }
                } else {
                    Ops.matmul(q, k, s, false, true, geo.scale(), 0.0);
                }
                Ops.maximum(runMax, Ops.max(s, blockMax, 3), blockMax); // the new running max m'
                Ops.exp(Ops.sub(runMax, blockMax, rescale), rescale); // e^(m − m')
                runMax.assign(blockMax);
                Ops.exp(Ops.sub(s, column(blockMax), s), s);
                Ops.mul(runSum, rescale, runSum);
                Ops.add(runSum, Ops.sum(s, blockMax, 3), runSum); // blockMax now holds Σ_j e^(s_j − m')
                Ops.mul(acc, column(rescale), acc);
                Ops.matmulAdd(s, v, acc, false, false);
            }
            Ops.div(acc, column(runSum), acc);
            long r0 = blk.i0() * geo.group();
            out.get(all(), all(), interval(r0, r0 + rows), all()).assign(acc);
        }
        return out;
    }

    /** [B, Hkv, rows] as [B, Hkv, rows, 1], to broadcast over a row's keys or head dims. */
    private static INDArray column(INDArray rowValues) {
        return Layouts.reshapeView(rowValues, rowValues.size(0), rowValues.size(1), rowValues.size(2), 1);
    }

    /**
     * Writes dQueries and adds into dKeys and dValues (all zero-initialised by the caller or holding sums to add
     * to), given dOut [B, Hkv, T·G, hd] and the forward's result.
     */
    static void backward(
            INDArray queries,
            INDArray keys,
            INDArray values,
            Result fwd,
            INDArray dOut,
            Geometry geo,
            long blockElements,
            INDArray dQueries,
            INDArray dKeys,
            INDArray dValues) {
        int hd = geo.headDim();
        // D_i = Σ_j P_ij dP_ij = dO_i · O_i
        INDArray rowDot = Ops.mul(dOut, fwd.out()).sum(true, 3);
        BlockBuffers s = new BlockBuffers(geo, blockElements, true);
        boolean reuse = fwd.probabilities() != null && fwd.blockTokens() == s.blockTokens;
        int index = 0;
        for (long i0 = 0; i0 < geo.tokens(); i0 += s.blockTokens, index++) {
            Block blk = geo.block(i0, Math.min(geo.tokens(), i0 + s.blockTokens));
            long rows = blk.tokens() * geo.group();
            long r0 = blk.i0() * geo.group();
            INDArray q = rowsOf(s.q, queries, blk, geo, hd);
            INDArray k = keysOf(s.k, keys, blk, hd);
            INDArray p = reuse
                    ? fwd.probabilities().get(index)
                    : probabilities(
                            q, k, blk, geo, Layouts.view(s.scores, 0, geo.batch(), geo.kvHeads(), rows, blk.keys()));
            INDArray v = keysOf(s.v, values, blk, hd);
            INDArray dO = rowsOf(s.dO, dOut, blk, geo, hd);

            INDArray dKeyRange = Layouts.view(s.dk, 0, geo.batch(), geo.kvHeads(), blk.keys(), hd);
            Ops.matmul(p, dO, dKeyRange, true, false); // dV = Pᵀ dO (sums the G query heads)
            dValues.get(all(), all(), interval(blk.k0(), blk.k1()), all()).addi(dKeyRange);

            INDArray dS = Layouts.view(s.dp, 0, geo.batch(), geo.kvHeads(), rows, blk.keys());
            Ops.matmul(dO, v, dS, false, true); // dP = dO Vᵀ
            Ops.sub(dS, rowDot.get(all(), all(), interval(r0, r0 + rows), all()), dS);
            Ops.mul(dS, p, dS); // dS = P ∘ (dP − D); masked entries have P = 0

            INDArray dq = Layouts.view(s.o, 0, geo.batch(), geo.kvHeads(), rows, hd);
            Ops.matmul(dS, k, dq, false, false, geo.scale(), 0.0);
            dQueries.get(all(), all(), interval(r0, r0 + rows), all()).assign(dq);
            Ops.matmul(dS, q, dKeyRange, true, false, geo.scale(), 0.0);
            dKeys.get(all(), all(), interval(blk.k0(), blk.k1()), all()).addi(dKeyRange);
        }
    }

    /**
     * P = softmax(scale · q kᵀ + mask) of the block over its keys, from its dense query rows q and key rows k,
     * written into {@code p} [B, Hkv, rows, keys].
     */
    private static INDArray probabilities(INDArray q, INDArray k, Block blk, Geometry geo, INDArray p) {
        scores(q, k, blk, geo, p);
        Nd4j.exec(new SoftMax(p, p, 3)); // masked entries are −∞ and get exactly 0
        return p;
    }

    /** Writes the block's scale · q kᵀ + mask into {@code p} [B, Hkv, rows, keys]. */
    private static void scores(INDArray q, INDArray k, Block blk, Geometry geo, INDArray p) {
        Ops.matmul(q, k, p, false, true, geo.scale(), 0.0);
        INDArray mask = mask(geo.past() + blk.i0(), blk.tokens(), blk.k0(), blk.keys(), geo.window(), geo.dtype());
        if (mask != null) {
            // rows are (token, group member): the mask [tokens, keys] broadcasts over the G members
            INDArray byToken = Layouts.view(p, 0, geo.batch() * geo.kvHeads(), blk.tokens(), geo.group(), blk.keys());
            Ops.add(byToken, mask.reshape(blk.tokens(), 1, blk.keys()), byToken);
        }
    }

    /**
     * The additive mask [tokens, keys] of query positions firstQuery.. against key positions firstKey..: 0 where
     * 0 ≤ query − key (and &lt; window when there is one), −∞ elsewhere; null when nothing is masked. Each row's
     * allowed keys form one interval, so the rows are filled as three runs.
     */
    static INDArray mask(long firstQuery, long tokens, long firstKey, long keys, int window, DataType dt) {
        if (!masked(firstQuery, tokens, firstKey, keys, window)) {
            return null;
        }
        int n = Math.toIntExact(keys);
        double[][] rows = new double[Math.toIntExact(tokens)][n];
        for (int i = 0; i < rows.length; i++) {
            long query = firstQuery + i;
            // allowed key positions: [query − W + 1, query] (or [0, query]), as column indices [from, to)
            int from = (int) Math.max(0, Math.min(n, (window > 0 ? query - window + 1 : 0) - firstKey));
            int to = (int) Math.max(0, Math.min(n, query + 1 - firstKey));
            Arrays.fill(rows[i], 0, from, Double.NEGATIVE_INFINITY);
            Arrays.fill(rows[i], Math.max(from, to), n, Double.NEGATIVE_INFINITY);
        }
        return Nd4j.createFromArray(rows).castTo(dt);
    }

    /** Whether any query of the block may not read some key of it (causality, or the window). */
    private static boolean masked(long firstQuery, long tokens, long firstKey, long keys, int window) {
        boolean allCausal = firstKey + keys - 1 <= firstQuery;
        boolean allInWindow = window == 0 || firstQuery + tokens - 1 - firstKey < window;
        return !(allCausal && allInWindow);
    }

    /** Dense buffers for one block, sized for the largest block and reused by every block of the call. */
    private static final class BlockBuffers {
        final long blockTokens;
        final long probabilityElements; // Σ over blocks of B·Hkv·rows·keys
        final INDArray q;
        final INDArray k;
        final INDArray v;
        final INDArray o;
        final INDArray scores;
        final INDArray dO;
        final INDArray dp;
        final INDArray dk;

        BlockBuffers(Geometry geo, long blockElements, boolean backward) {
            blockTokens = geo.blockTokens(blockElements);
            long bh = geo.batch() * geo.kvHeads();
            long maxKeys = 0;
            long total = 0;
            for (long i0 = 0; i0 < geo.tokens(); i0 += blockTokens) {
                Block blk = geo.block(i0, Math.min(geo.tokens(), i0 + blockTokens));
                maxKeys = Math.max(maxKeys, blk.keys());
                total += bh * blk.tokens() * geo.group() * blk.keys();
            }
            probabilityElements = total;
            long rowElems = bh * blockTokens * geo.group() * geo.headDim();
            long keyElems = bh * maxKeys * geo.headDim();
            DataType dt = geo.dtype();
            q = Nd4j.createUninitialized(dt, rowElems);
            o = Nd4j.createUninitialized(dt, rowElems);
            k = Nd4j.createUninitialized(dt, keyElems);
            v = Nd4j.createUninitialized(dt, keyElems);
            scores = Nd4j.createUninitialized(dt, bh * blockTokens * geo.group() * maxKeys);
            dO = backward ? Nd4j.createUninitialized(dt, rowElems) : null;
            dk = backward ? Nd4j.createUninitialized(dt, keyElems) : null;
            dp = backward ? Nd4j.createUninitialized(dt, scores.length()) : null;
        }
    }

    /** A dense copy of the block's query rows of {@code src} [B, Hkv, T·G, hd] in {@code buffer}. */
    private static INDArray rowsOf(INDArray buffer, INDArray src, Block blk, Geometry geo, int hd) {
        long rows = blk.tokens() * geo.group();
        long r0 = blk.i0() * geo.group();
        INDArray dst = Layouts.view(buffer, 0, geo.batch(), geo.kvHeads(), rows, hd);
        return dst.assign(src.get(all(), all(), interval(r0, r0 + rows), all()));
    }

    /** A dense copy of the block's key rows [k0, k1) of {@code src} [B, Hkv, Tk, hd] in {@code buffer}. */
    private static INDArray keysOf(INDArray buffer, INDArray src, Block blk, int hd) {
        INDArray dst = Layouts.view(buffer, 0, src.size(0), src.size(1), blk.keys(), hd);
        return dst.assign(src.get(all(), all(), interval(blk.k0(), blk.k1()), all()));
    }
}
