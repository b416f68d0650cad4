package io.ssmspark.model.ssd;

import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reusable buffers and the per-block steps of the chunked SSD, for a block of {@code nb} consecutive
 * chunks of length Q. The batch's sequences are laid end to end, (batch, Tp) = (batch·nc) chunks, so
 * a block may span several sequences; only the state recurrence sees the sequence boundaries. Head
 * h = g·Hg + hg (Hg heads per group).
 * Three layouts:
 *
 * <ul>
 *   <li>natural, as the caller holds x: [nb, Q, G, Hg, ·];
 *   <li>head-major, [Hg, nb, G, Q, ·]: for the intra-chunk quadratic block. Its decay mask differs
 *       per head while C·Bᵀ is shared by a group, so C·Bᵀ [nb, G, Q, Q] broadcasts over the leading
 *       axis, the one broadcast ND4J runs at full speed;
 *   <li>group-stacked, [nb, G, Q, Hg·P]: for the state terms, so the heads of a group share one
 *       large gemm against that group's B or C. States are [nb, G, Hg·P, N] = [nb, H, P, N].
 * </ul>
 *
 * Layout changes are strided copies ({@link Layouts#assignPermuted}); arithmetic runs on dense
 * arrays only, which {@link Ops} reduces to the lowest rank before calling ND4J.
 *
 * <p>Notation per chunk and head: cum_i = Σ_{k ≤ i} dt_k·A (chunk-local, ≤ 0), L[i][j] = exp(cum_i −
 * cum_j) for i ≥ j, u_j = dt_j·x_j, w_j = exp(cum_{Q−1} − cum_j), α = exp(cum_{Q−1}). All decays are
 * exponentials of non-positive numbers, so nothing overflows however long the sequence.
 */
final class ChunkBlock {
    final int Q, nb, H, P, G, N, Hg;
    final DataType dtype;

    // inputs: head-major X, DT; per group B, C
    final INDArray X, DT, Bg, Cg;
    // A as [Hg, 1, G, 1] and D as [Hg, 1, G, 1, 1 or P] (head-major broadcasts)
    private INDArray aHeadMajor, dHeadMajor;
    // the heads of the full arrays this block reads and writes (set by load)
    private HeadRange range;
    // head-major intra-chunk quantities
    final INDArray LA, CUM, L, M, U, Y, Wdec, ECUM, tmpHM;
    final INDArray CB;
    // group-stacked quantities
    final INDArray WU, Yoff, ecumStacked;
    // states [nb, H, P, N] and per-chunk decays [nb, H, 1, 1]
    final INDArray Schunk, Sin, chunkDecay;
    private final INDArray causal01;
    // per-chunk views for the sequential recurrence, made once and reused for every block
    final INDArray[] sinAt, schunkAt, decayAt;

    ChunkBlock(SsdDims d, int Q, int nb, boolean forBackward) {
        this.Q = Q;
        this.nb = nb;
        H = d.heads();
        P = d.headDim();
        G = d.groups();
        N = d.dState();
        Hg = d.headsPerGroup();
        dtype = d.dtype();
        X = z(Hg, nb, G, Q, P);
        DT = z(Hg, nb, G, Q);
        Bg = z(nb, G, Q, N);
        Cg = z(nb, G, Q, N);
        LA = z(Hg, nb, G, Q);
        CUM = z(Hg, nb, G, Q);
        L = z(Hg, nb, G, Q, Q);
        M = forBackward ? z(Hg, nb, G, Q, Q) : L; // the forward folds M into L's buffer
        U = z(Hg, nb, G, Q, P);
        Y = z(Hg, nb, G, Q, P);
        Wdec = z(Hg, nb, G, Q);
        ECUM = z(Hg, nb, G, Q);
        tmpHM = z(Hg, nb, G, Q, P);
        CB = z(nb, G, Q, Q);
        WU = z(nb, G, Q, Hg, P);
        Yoff = z(nb, G, Q, Hg, P);
        ecumStacked = z(nb, G, Q, Hg, 1);
        Schunk = z(nb, H, P, N);
        Sin = z(nb, H, P, N);
        chunkDecay = z(nb, H, 1, 1);
        sinAt = new INDArray[nb];
        schunkAt = new INDArray[nb];
        decayAt = new INDArray[nb];
        for (int c = 0; c < nb; c++) {
            sinAt[c] = Sin.slice(c);
            schunkAt[c] = Schunk.slice(c);
            decayAt[c] = chunkDecay.slice(c); // [H, 1, 1]
        }
        causal01 = Nd4j.ones(dtype, Q, Q);
        for (int i = 0; i + 1 < Q; i++) {
            causal01.get(point(i), interval(i + 1, Q)).assign(0);
        }
    }

    INDArray z(long... shape) {
        return Nd4j.zeros(dtype, shape);
    }

    INDArray causal01() {
        return causal01;
    }

    INDArray aHeadMajor() {
        return aHeadMajor;
    }

    // ---------------------------------------------------------------- layouts

    /**
     * This block's heads of padded (batch, Tp, H, f) as natural [nb, Q, G, Hg, f] from flat chunk {@code first}
     * (a dense view when the block runs all heads).
     */
    INDArray naturalView(INDArray padded, int first, long f) {
        return range.natural(padded, first, nb, Q, f);
    }

    /** This block's groups of padded (batch, Tp, G, N) as [nb, Q, G, N] from flat chunk {@code first}. */
    INDArray groupView(INDArray padded, int first) {
        return range.grouped(padded, first, nb, Q, N);
    }

    /** natural [nb, Q, G, Hg, f] → head-major [Hg, nb, G, Q, f]. */
    static final int[] NATURAL_TO_HEAD_MAJOR = {3, 0, 2, 1, 4};
    /** head-major [Hg, nb, G, Q, f] → natural [nb, Q, G, Hg, f]. */
    static final int[] HEAD_MAJOR_TO_NATURAL = {1, 3, 2, 0, 4};
    /** head-major [Hg, nb, G, Q, f] → stacked [nb, G, Q, Hg, f]. */
    static final int[] HEAD_MAJOR_TO_STACKED = {1, 2, 3, 0, 4};
    /** stacked [nb, G, Q, Hg, f] → head-major [Hg, nb, G, Q, f]. */
    static final int[] STACKED_TO_HEAD_MAJOR = {3, 0, 1, 2, 4};
    /** stacked [nb, G, Q, Hg, f] → natural [nb, Q, G, Hg, f] (and back: the same swap). */
    static final int[] SWAP_G_Q = {0, 2, 1, 3, 4};

    /** A stacked [nb, G, Q, Hg, P] buffer as [nb·G, Q, Hg·P] for gemms. */
    INDArray stacked2d(INDArray stacked) {
        return stacked.reshape((long) nb * G, Q, (long) Hg * P);
    }

    /** A state buffer [nb, H, P, N] as [nb·G, Hg·P, N]. */
    INDArray statesByGroup(INDArray states) {
        return states.reshape((long) nb * G, (long) Hg * P, N);
    }

    /** A per-group [nb, G, Q, ·] buffer as [nb·G, Q, ·] for gemms. */
    INDArray perGroup(INDArray a) {
        return a.reshape((long) nb * G, Q, a.size(3));
    }

    /** Head-major [Hg, nb, G, Q, ·] as [Hg·nb·G, Q, ·] for gemms. */
    INDArray headBatches(INDArray a) {
        return a.reshape((long) Hg * nb * G, Q, a.size(4));
    }

    /** A head-major [Hg, nb, G, Q] vector with a trailing unit axis, for broadcasting over P. */
    INDArray col(INDArray headMajorVector) {
        return headMajorVector.reshape(Hg, nb, G, Q, 1);
    }

    /** The last position of each chunk of a head-major [Hg, nb, G, Q] vector, as [Hg·nb·G, 1] (a view). */
    INDArray last(INDArray headMajorVector) {
        return headMajorVector
                .reshape((long) Hg * nb * G, Q)
                .get(org.nd4j.linalg.indexing.NDArrayIndex.all(), interval(Q - 1, Q));
    }

    /** Copies this block's x, dt, B, C (padded, dense) into the chunk layouts, for all heads. */
    void load(SsdLoad in, int first) {
        load(in, first, HeadRange.whole(H, G));
    }

    /**
     * As {@link #load(SsdLoad, int)} for the heads of {@code heads}, which this block was made for (its H and
     * G are the range's); the block then reads and writes only those heads of the full arrays.
     */
    void load(SsdLoad in, int first, HeadRange heads) {
        if (heads.count() != H || heads.groups() != G) {
            throw new IllegalArgumentException("a block of " + H + " heads in " + G + " groups cannot run " + heads);
        }
        range = heads;
        Layouts.assignPermuted(X, naturalView(in.x(), first, P), NATURAL_TO_HEAD_MAJOR);
        Layouts.assignPermuted(col(DT), naturalView(in.dt(), first, 1), NATURAL_TO_HEAD_MAJOR);
        Layouts.assignPermuted(Bg, groupView(in.B(), first), 0, 2, 1, 3);
        Layouts.assignPermuted(Cg, groupView(in.C(), first), 0, 2, 1, 3);
        aHeadMajor = range.heads(in.A()).reshape(G, Hg).transpose().dup('c').reshape(Hg, 1, G, 1);
        if (in.D() == null) {
            dHeadMajor = null;
        } else {
            long perHead = in.D().length() / range.totalHeads();
            dHeadMajor = range.heads(in.D())
                    .reshape(G, Hg, perHead)
                    .permute(1, 0, 2)
                    .dup('c')
                    .reshape(Hg, 1, G, 1, perHead);
        }
    }

    /** What a block reads: the padded inputs (dense, c-order), A, and D (null when not wanted). */
    record SsdLoad(INDArray x, INDArray dt, INDArray A, INDArray B, INDArray C, INDArray D) {}

    // ---------------------------------------------------------------- forward steps

    /** All of a block's intra-chunk quantities: decays, chunk states, and the quadratic block. */
    void intraChunk(boolean withDiagonalOutput) {
        decays();
        chunkStates();
        quadratic(withDiagonalOutput);
    }

    /** cum = cumsum(dt·A) per chunk, exp(cum), w = exp(cum_{Q−1} − cum), and α per chunk. */
    void decays() {
        long rows = (long) Hg * nb * G;
        Ops.mul(DT, aHeadMajor, LA);
        Ops.cumsum(LA.reshape(rows, Q), CUM.reshape(rows, Q), 1, false);
        Nd4j.exec(new Exp(CUM, ECUM));
        Ops.sub(last(CUM), CUM.reshape(rows, Q), Wdec.reshape(rows, Q));
        Nd4j.exec(new Exp(Wdec, Wdec));
        // α per chunk, in state order [nb, G, Hg]
        Layouts.assignPermuted(
                chunkDecay.reshape(nb, G, Hg), last(ECUM).dup('c').reshape(Hg, nb, G), 1, 2, 0);
        Layouts.assignPermuted(ecumStacked, col(ECUM), HEAD_MAJOR_TO_STACKED);
    }

    /** u = dt·x and the chunk states S_c = Σ_j w_j·u_j·B_jᵀ: one gemm per (chunk, group) over its stacked heads. */
    void chunkStates() {
        Ops.mul(X, col(DT), U);
        Ops.mul(U, col(Wdec), tmpHM);
        Layouts.assignPermuted(WU, tmpHM, HEAD_MAJOR_TO_STACKED);
        Ops.matmul(stacked2d(WU), perGroup(Bg), statesByGroup(Schunk), true, false);
    }

    /** L (masked decays), C·Bᵀ (masked), M = L ∘ CB, and when asked Y_diag = M·u. */
    void quadratic(boolean withDiagonalOutput) {
        long rows = (long) Hg * nb * G;
        // L[i][j] = exp(min(cum_i − cum_j, 0)): exact below the diagonal; above it the min keeps exp
        // finite and the masked C·Bᵀ zeroes the entry.
        Ops.sub(CUM.reshape(rows, Q, 1), CUM.reshape(rows, 1, Q), L.reshape(rows, Q, Q));
        Nd4j.exec(new ScalarMin(L, null, L, 0.0));
        Nd4j.exec(new Exp(L, L));
        Ops.matmul(perGroup(Cg), perGroup(Bg), CB.reshape((long) nb * G, Q, Q), false, true);
        Ops.mul(CB, causal01, CB);
        Ops.mul(L, CB, M); // CB broadcasts over the leading head axis
        if (withDiagonalOutput) {
            Ops.matmul(headBatches(M), headBatches(U), headBatches(Y), false, false);
        }
    }

    /**
     * The inter-chunk recurrence, the one sequential step (O(nb) small ops): Sin[c] = α_{c−1}·Sin[c−1]
     * + S_{c−1}, restarting from {@code initial}[seq] at the first chunk of each sequence and writing
     * {@code finals}[seq] after its last chunk. {@code carry} [H, P, N] is the state entering this
     * block's first chunk and becomes the state after its last one.
     */
    void propagateStates(INDArray carry, int first, int chunksPerSequence, INDArray initial, INDArray finals) {
        for (int c = 0; c < nb; c++) {
            int k = first + c;
            if (k % chunksPerSequence == 0) {
                sinAt[c].assign(range.stateOf(initial, k / chunksPerSequence));
            } else if (c == 0) {
                sinAt[0].assign(carry);
            } else {
                advance(c - 1, sinAt[c]);
            }
            if (k % chunksPerSequence == chunksPerSequence - 1) {
                advance(c, range.stateOf(finals, k / chunksPerSequence));
            }
        }
        advance(nb - 1, carry);
    }

    /** out = α_c·Sin[c] + S_c: the state after chunk c. */
    private void advance(int c, INDArray out) {
        Ops.mul(sinAt[c], decayAt[c], out);
        out.addi(schunkAt[c]);
    }

    /** Yoff (unscaled) = C·Sinᵀ per group, stacked [nb, G, Q, Hg, P]. */
    void stateToOutputUnscaled() {
        Ops.matmul(perGroup(Cg), statesByGroup(Sin), stacked2d(Yoff), false, true);
    }

    /** y for this block = Y_diag + D·x + exp(cum)·C·Sinᵀ, written into the padded natural output. */
    void writeOutput(INDArray yPadded, int first) {
        if (dHeadMajor != null) {
            Ops.mul(X, dHeadMajor, tmpHM);
            Y.addi(tmpHM);
        }
        stateToOutputUnscaled();
        Ops.mul(Yoff, ecumStacked, Yoff);
        Layouts.assignPermuted(WU, Y, HEAD_MAJOR_TO_STACKED); // WU is free now: Y, stacked
        Yoff.addi(WU);
        Layouts.assignPermuted(naturalView(yPadded, first, P), Yoff, SWAP_G_Q);
    }
}
