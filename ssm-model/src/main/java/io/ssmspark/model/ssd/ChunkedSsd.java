package io.ssmspark.model.ssd;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.tensor.KernelThreads;
import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Scratch;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The chunked SSD algorithm of Mamba-2 (DESIGN.md, "SSD", form 3), forward and backward.
 *
 * <p>The sequence is cut into chunks of length Q (the last one padded with dt = 0, which leaves the
 * state untouched). Per chunk: the intra-chunk quadratic block, the chunk's own state, the
 * inter-chunk recurrence over those states, and the state-to-output term. Chunks are processed in
 * blocks whose buffers are reused, so working memory is bounded by the block size, not by T; the
 * backward recomputes each block's intra-chunk quantities and chunk states from the block's
 * starting state instead of storing them.
 */
public final class ChunkedSsd {
    /** Elements of the per-head Q×Q buffers in one block; bounds working memory (~16 MB in fp32). */
    static final long BLOCK_BUDGET = 4L << 20;

    private ChunkedSsd() {}

    /**
     * Runs SSD from {@code initialState} (batch, H, P, N), or from zeros when it is null, and returns
     * y, the final state and the total log-decay.
     */
    public static SsdResult forward(SsdInputs in, int chunk, INDArray initialState) {
        return forward(in, chunk, initialState, Integer.MAX_VALUE);
    }

    /** As {@link #forward(SsdInputs, int, INDArray)} with at most {@code maxChunksPerBlock} per block. */
    static SsdResult forward(SsdInputs in, int chunk, INDArray initialState, int maxChunksPerBlock) {
        return forward(in, chunk, initialState, maxChunksPerBlock, KernelThreads.threads());
    }

    /**
     * As {@link #forward(SsdInputs, int, INDArray, int)}, the heads spread over {@code threads} threads ({@link
     * HeadRange#split}). Every term is per head, but gemms over fewer heads may round differently, so results equal
     * the one-thread ones to rounding, and those of the same split bit for bit.
     */
    static SsdResult forward(SsdInputs in, int chunk, INDArray initialState, int maxChunksPerBlock, int threads) {
        SsdDims d = in.dims();
        Plan plan = new Plan(d, chunk, initialState, maxChunksPerBlock);
        ChunkBlock.SsdLoad load = plan.load(in, true);
        // every entry, padding included, is written by its block's writeOutput
        INDArray yPadded = Nd4j.createUninitialized(d.dtype(), d.batch(), plan.paddedLength, d.heads(), d.headDim());
        INDArray initial = plan.startState();
        INDArray finals = Nd4j.zeros(d.dtype(), d.stateShape());
        List<List<HeadRange>> work = HeadRange.split(d, threads);
        KernelThreads.run(work.size(), t -> {
            // part 0 runs on the caller, in the caller's scope; a pool thread frees its small arrays when done
            try (Scratch ignored = t == 0 ? null : Scratch.open()) {
                for (HeadRange heads : work.get(t)) {
                    forwardHeads(plan, load, heads, initial, finals, yPadded);
                }
            }
        });
        return new SsdResult(plan.unpad(yPadded), finals, logDecay(in));
    }

    /** The forward of one range of heads, block after block, into its heads of {@code finals} and {@code yPadded}. */
    private static void forwardHeads(
            Plan plan, ChunkBlock.SsdLoad load, HeadRange heads, INDArray initial, INDArray finals, INDArray yPadded) {
        SsdDims d = heads.dims(plan.d);
        INDArray carry = Nd4j.zeros(d.dtype(), d.heads(), d.headDim(), d.dState());
        for (int first = 0; first < plan.totalChunks; first += plan.chunksPerBlock) {
            int nb = Math.min(plan.chunksPerBlock, plan.totalChunks - first);
            ChunkBlock block = ChunkBufferPool.forward(d, plan.chunk, nb);
            block.load(load, first, heads);
            block.intraChunk(true);
            block.propagateStates(carry, first, plan.chunks, initial, finals);
            block.writeOutput(yPadded, first);
        }
    }

    /** Σ_t dt_t·A_h per (batch, head). */
    static INDArray logDecay(SsdInputs in) {
        return in.dt().sum(1).muliRowVector(in.A());
    }

    /**
     * The contribution of an initial state to y: exp(cum_t)·(S_in·C_t) per token, with cum_t the
     * log-decay from the segment start to t inclusive. A segment run from zero plus this term equals
     * the segment run from S_in.
     */
    public static INDArray initialStateContribution(SsdInputs in, INDArray initialState) {
        SsdDims d = in.dims();
        INDArray y = Nd4j.zeros(d.dtype(), d.batch(), d.seqLen(), d.heads(), d.headDim());
        addInitialStateContribution(in, initialState, y);
        return y;
    }

    /**
     * Adds {@link #initialStateContribution} into y (batch, T, H, P), which must be dense: per (batch,
     * group) one gemm C_g·S_gᵀ straight into y's layout [T, Hg·P], scaled by exp(cum) per head.
     */
    public static void addInitialStateContribution(SsdInputs in, INDArray initialState, INDArray y) {
        SsdDims d = in.dims();
        SsdInputs.expectShape("initialState", initialState, "(batch, H, P, N)", d.stateShape());
        SsdInputs.expectShape("y", y, "(batch, T, H, P)", d.batch(), d.seqLen(), d.heads(), d.headDim());
        if (!Layouts.isDense(y)) {
            throw new IllegalArgumentException("y: expected a dense c-order array to add the initial-state term into");
        }
        int b = d.batch(), T = d.seqLen(), H = d.heads(), P = d.headDim(), G = d.groups(), N = d.dState();
        int Hg = d.headsPerGroup();
        INDArray decay = initialStateDecay(in);
        INDArray states = initialState.dup('c').reshape(b, G, (long) Hg * P, N);
        INDArray term = Nd4j.createUninitialized(d.dtype(), T, (long) Hg * P);
        INDArray yGroups = y.reshape(b, T, G, (long) Hg * P);
        for (int batch = 0; batch < b; batch++) {
            for (int g = 0; g < G; g++) {
                INDArray c = in.C().get(point(batch), all(), point(g), all()); // [T, N]
                Ops.matmul(c, states.get(point(batch), point(g), all(), all()), term, false, true); // C·S_gᵀ
                INDArray scaled = term.reshape(T, Hg, P);
                Ops.mul(scaled, decay.get(point(batch), all(), point(g), all(), all()), scaled);
                yGroups.get(point(batch), all(), point(g), all()).addi(term);
            }
        }
    }

    /** exp(cum_t) per head, cum the inclusive cumulative sum of dt·A over t: [batch, T, G, H/G, 1]. */
    private static INDArray initialStateDecay(SsdInputs in) {
        SsdDims d = in.dims();
        int b = d.batch(), T = d.seqLen(), H = d.heads();
        INDArray cum = Nd4j.zeros(d.dtype(), b, T, H);
        Ops.cumsum(in.dt().mul(in.A().reshape(1, 1, H)), cum, 1, false);
        return org.nd4j.linalg.ops.transforms.Transforms.exp(cum, false)
                .reshape(b, T, d.groups(), d.headsPerGroup(), 1);
    }

    /**
     * The adjoint of {@link #addInitialStateContribution}: dℓ/dS_in (batch, H, P, N) of the term exp(cum_t)·C_t·S_in
     * in y for dℓ/dy (batch, T, H, P), per (batch, group) one gemm (dy ⊙ exp(cum))ᵀ·C_g. Nothing else of the SSD
     * is differentiated: it is the gradient reaching the initial state through the window's outputs alone.
     */
    public static INDArray initialStateGradient(SsdInputs in, INDArray dy) {
        SsdDims d = in.dims();
        SsdInputs.expectShape("dy", dy, "(batch, T, H, P)", d.batch(), d.seqLen(), d.heads(), d.headDim());
        int b = d.batch(), T = d.seqLen(), H = d.heads(), P = d.headDim(), G = d.groups(), N = d.dState();
        int Hg = d.headsPerGroup();
        INDArray decay = initialStateDecay(in);
        INDArray scaled = dy.dup('c').reshape(b, T, G, Hg, P);
        scaled.muli(decay); // broadcast over P
        INDArray out = Nd4j.createUninitialized(d.dtype(), b, G, (long) Hg * P, N);
        for (int batch = 0; batch < b; batch++) {
            for (int g = 0; g < G; g++) {
                INDArray c = in.C().get(point(batch), all(), point(g), all()); // [T, N]
                INDArray w =
                        scaled.get(point(batch), all(), point(g), all(), all()).reshape(T, (long) Hg * P);
                Ops.matmul(w, c, out.get(point(batch), point(g), all(), all()), true, false);
            }
        }
        return out.reshape(b, H, P, N);
    }

    /**
     * Gradients of a scalar loss ℓ given dℓ/dy (batch, T, H, P) and dℓ/dS_T (batch, H, P, N; null
     * for zero), with respect to every input and the initial state.
     */
    public static SsdGradients backward(
            SsdInputs in, int chunk, INDArray initialState, INDArray dy, INDArray dFinalState) {
        return backward(in, chunk, initialState, dy, dFinalState, Integer.MAX_VALUE);
    }

    /** As {@link #backward(SsdInputs, int, INDArray, INDArray, INDArray)} with bounded blocks. */
    static SsdGradients backward(
            SsdInputs in, int chunk, INDArray initialState, INDArray dy, INDArray dFinalState, int maxChunksPerBlock) {
        SsdDims d = in.dims();
        SsdInputs.expectShape("dy", dy, "x", in.x().shape());
        if (dFinalState != null) {
            SsdInputs.expectShape("dFinalState", dFinalState, "(batch, H, P, N)", d.stateShape());
        }
        Plan plan = new Plan(d, chunk, initialState, maxChunksPerBlock);
        ChunkBlock.SsdLoad load = plan.load(in, false);
        INDArray dyPadded = plan.pad(dy);
        Grads g = new Grads(d, plan);
        INDArray initial = plan.startState();
        INDArray dFinal = dFinalState == null ? Nd4j.zeros(d.dtype(), d.stateShape()) : dFinalState.dup('c');
        INDArray scratchFinals = Nd4j.zeros(d.dtype(), d.stateShape());
        INDArray carry = Nd4j.zeros(d.dtype(), d.heads(), d.headDim(), d.dState());
        // Pass 1: the state entering each block (the only thing kept between the passes); only the
        // chunk states are needed for it, and none after the last block.
        List<INDArray> carries = new ArrayList<>();
        for (int first = 0; first < plan.totalChunks; first += plan.chunksPerBlock) {
            carries.add(carry.dup());
            int nb = Math.min(plan.chunksPerBlock, plan.totalChunks - first);
            if (first + nb < plan.totalChunks) {
                ChunkBlock block = ChunkBufferPool.backward(d, chunk, nb).f;
                block.load(load, first);
                block.decays();
                block.chunkStates();
                block.propagateStates(carry, first, plan.chunks, initial, scratchFinals);
            }
        }
        // Pass 2: blocks in reverse, carrying dℓ/d(state after the block).
        INDArray dState = Nd4j.zeros(d.dtype(), d.heads(), d.headDim(), d.dState());
        for (int k = carries.size() - 1; k >= 0; k--) {
            int first = k * plan.chunksPerBlock;
            int nb = Math.min(plan.chunksPerBlock, plan.totalChunks - first);
            ChunkBlockBackward back = ChunkBufferPool.backward(d, chunk, nb);
            ChunkBlock f = back.f;
            f.load(load, first);
            f.intraChunk(false); // the backward needs M, not Y_diag
            f.propagateStates(carries.get(k), first, plan.chunks, initial, scratchFinals);
            back.run(dyPadded, first, plan.chunks, dState, dFinal, g);
        }

        // The D skip: y += D·x.
        INDArray dx = plan.unpad(g.dx);
        INDArray dD = null;
        if (in.D() != null) {
            INDArray Dview = d.dPerChannel()
                    ? in.D().reshape(1, 1, d.heads(), d.headDim())
                    : in.D().reshape(1, 1, d.heads(), 1);
            dx.addi(dy.mul(Dview));
            INDArray dyx = dy.mul(in.x());
            dD = d.dPerChannel() ? dyx.sum(0, 1).reshape(-1) : dyx.sum(0, 1, 3).reshape(-1);
        }
        return new SsdGradients(dx, plan.unpad(g.ddt), g.dA, plan.unpad(g.dB), plan.unpad(g.dC), dD, g.dInitial);
    }

    /** Chunk count, block size and padding for one call. */
    static final class Plan {
        final SsdDims d;
        /** chunks: per sequence; totalChunks: over the batch laid end to end. */
        final int chunk, chunks, totalChunks, chunksPerBlock, paddedLength;

        final INDArray initialState;

        Plan(SsdDims d, int chunk, INDArray initialState, int maxChunksPerBlock) {
            if (chunk <= 0) {
                throw new IllegalArgumentException("chunk length Q must be positive but is " + chunk);
            }
            if (initialState != null) {
                SsdInputs.expectShape("initialState", initialState, "(batch, H, P, N)", d.stateShape());
                if (initialState.dataType() != d.dtype()) {
                    throw new IllegalArgumentException(
                            "initialState has dtype " + initialState.dataType() + " but x has " + d.dtype());
                }
            }
            this.d = d;
            this.chunk = chunk;
            this.initialState = initialState;
            chunks = (d.seqLen() + chunk - 1) / chunk;
            paddedLength = chunks * chunk;
            totalChunks = chunks * d.batch();
            long perChunk = (long) d.heads() * chunk * chunk;
            long fit = Math.max(1, BLOCK_BUDGET / perChunk);
            chunksPerBlock = (int) Math.min(Math.min(totalChunks, fit), maxChunksPerBlock);
        }

        /** The inputs padded to whole chunks, dense; D only when the blocks should add D·x. */
        ChunkBlock.SsdLoad load(SsdInputs in, boolean withD) {
            return new ChunkBlock.SsdLoad(
                    pad(in.x()), pad(in.dt()), in.A(), pad(in.B()), pad(in.C()), withD ? in.D() : null);
        }

        INDArray startState() {
            return initialState == null ? Nd4j.zeros(d.dtype(), d.stateShape()) : initialState.dup('c');
        }

        /** a (b, T, ...) as a c-order (b, Tp, ...) array, zero-padded at the end; no copy if not needed. */
        INDArray pad(INDArray a) {
            boolean plain = Layouts.ownsWholeBuffer(a);
            if (a.size(1) == paddedLength && plain) {
                return a;
            }
            long[] shape = a.shape().clone();
            shape[1] = paddedLength;
            INDArray out = Nd4j.zeros(a.dataType(), shape);
            timeSlice(out, a.size(1)).assign(a);
            return out;
        }

        /** The first T time steps of a padded array (a copy when padding was added). */
        INDArray unpad(INDArray padded) {
            return padded.size(1) == d.seqLen()
                    ? padded
                    : timeSlice(padded, d.seqLen()).dup('c');
        }

        static INDArray timeSlice(INDArray a, long length) {
            var idx = new org.nd4j.linalg.indexing.INDArrayIndex[a.rank()];
            java.util.Arrays.fill(idx, all());
            idx[1] = interval(0, length);
            return a.get(idx);
        }
    }

    /** Gradient accumulators in padded natural layout. */
    static final class Grads {
        final INDArray dx, ddt, dB, dC, dA, dInitial;

        Grads(SsdDims d, Plan plan) {
            int b = d.batch(), Tp = plan.paddedLength;
            dx = Nd4j.zeros(d.dtype(), b, Tp, d.heads(), d.headDim());
            ddt = Nd4j.zeros(d.dtype(), b, Tp, d.heads());
            dB = Nd4j.zeros(d.dtype(), b, Tp, d.groups(), d.dState());
            dC = Nd4j.zeros(d.dtype(), b, Tp, d.groups(), d.dState());
            dA = Nd4j.zeros(d.dtype(), d.heads());
            dInitial = Nd4j.zeros(d.dtype(), d.stateShape());
        }
    }
}
