package io.ssmspark.model.scan;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Mamba-1's selective scan ({@link ScanInputs}) in chunked form, forward and backward.
 *
 * <p>The sequence is cut into chunks of length Q (the last one padded with dt = 0, which leaves the state untouched
 * and adds nothing). Unlike SSD's scalar decay per head, Mamba-1's decay exp(dt_t[d]·A[d, n]) differs for every
 * state entry, so no intra-chunk matrix form reduces to a gemm (it would cost Q/2 exponentials per state entry and
 * token instead of one). The chunks are instead the lanes of batched ops: every op below advances one position of
 * every chunk of a block (as many chunks of all sequences as fill a state array of {@link #LANE_BUDGET}) at once,
 * so a block of Q·lanes tokens takes about 7·Q ND4J calls, whatever the sequence length. Per block, in three parts:
 * <ol>
 * <li>each chunk's own final state E from a zero start (keeping the step decays exp(dt_t ⊗ A) for part 3), and its
 * decay α = exp(A ⊗ Σ_chunk dt);</li>
 * <li>the inter-chunk recurrence H_{c+1} = α_c⊙H_c + E_c over the block's chunks in order, starting from the
 * state the previous block left ({@link ChunkRecurrence}: the one sequential part, in O(√chunks) batched ops);</li>
 * <li>each chunk again from its true initial state H_c, reading out y_t = C_t·h_t.</li>
 * </ol>
 * Every decay is the exponential of a non-positive product of dt ≥ 0 and A &lt; 0, taken over one step or one
 * chunk: nothing is ever divided by a decay or exponentiated with a positive sum, so long sequences neither
 * overflow nor lose precision. Working memory is bounded by the block size, not by T.
 *
 * <p>The backward first runs parts 1 and 2 over the sequence, keeping only the chunk-boundary states H_c; then, block
 * by block from the end, it computes the adjoint's chunk summaries (dℓ/dH_c from the chunk's own outputs, and the
 * same α) and their reverse recurrence, recomputes the block's per-token states from H_c, and runs the adjoint
 * g_t = C_t ⊗ dy_t + exp(dt_{t+1}·A)⊙g_{t+1} backwards through the chunks, gathering every gradient on the way.
 * {@link ScanReference} is the plain sequential loop all of this is tested against.
 */
public final class ChunkedScan {
    /**
     * The chunk length the mixer runs with. The result does not depend on it (ChunkedScanTest); the cost depends on it
     * only weakly on the CPU: a longer chunk keeps more step decays per block (Q state arrays) and gives a short
     * window fewer lanes (batch·T/Q), a shorter one more inter-chunk steps. Chunks of 16 to 64 ran alike on the
     * bench shape; see {@code ssm-spark bench scan --chunk}.
     */
    public static final int DEFAULT_CHUNK = 32;
    /**
     * Elements of one [lanes, N, D] state array of a forward block: 1 MB in fp32, which keeps a step's arrays in the
     * CPU's L2 cache (each op ran faster than at 4 MB). A block holds Q + 3 such arrays.
     */
    static final long LANE_BUDGET = 1L << 18;
    /** Elements of a backward block's state arrays, 2·Q + 9 of [lanes, N, D]. */
    static final long BACKWARD_BUDGET = 16L << 20;

    private ChunkedScan() {}

    /**
     * Runs the scan from {@code initialState} (batch, D, N), or from zeros when it is null: y (including D·x), the
     * final state and Σ_t dt.
     */
    public static ScanResult forward(ScanInputs in, int chunk, INDArray initialState) {
        return forward(in, chunk, initialState, Integer.MAX_VALUE);
    }

    /** As {@link #forward(ScanInputs, int, INDArray)} with at most {@code maxChunksPerBlock} chunks per block. */
    static ScanResult forward(ScanInputs in, int chunk, INDArray initialState, int maxChunksPerBlock) {
        Plan p = new Plan(in, chunk, initialState, LANE_BUDGET, 1, maxChunksPerBlock);
        Padded padded = p.padded(in, null);
        INDArray yPadded = Nd4j.createUninitialized(p.type, p.b, p.paddedLength, p.d);
        INDArray running = p.startState();
        Block block = new Block(p, in.A());
        for (int first = 0; first < p.chunks; first += p.chunksPerBlock) {
            int nb = Math.min(p.chunksPerBlock, p.chunks - first);
            block.load(padded, first, nb, false);
            block.skip(in.D());
            block.chunkStarts(running, true);
            block.outputs();
            block.store(block.y, yPadded, first, nb, false);
        }
        return new ScanResult(
                p.unpad(yPadded), Lanes.transposeLast(running), in.dt().sum(1));
    }

    /**
     * Adds into y (batch, T, D), dense, the contribution of an initial state (batch, D, N) to a scan run from zero:
     * Σ_n C_t[n]·exp(A[d, n]·Σ_{s ≤ t} dt_s[d])·S_in[d, n] per token. A segment run from zero plus this term equals
     * the segment run from S_in. Reads only dt, A and C of {@code in}.
     */
    public static void addInitialStateContribution(ScanInputs in, int chunk, INDArray initialState, INDArray y) {
        if (initialState == null) {
            throw new IllegalArgumentException(
                    "scan initialState: expected shape " + Arrays.toString(in.stateShape()) + " but found null");
        }
        Plan p = new Plan(in, chunk, initialState, LANE_BUDGET, 1, Integer.MAX_VALUE);
        if (!Arrays.equals(y.shape(), new long[] {p.b, p.t, p.d}) || !Layouts.isDense(y) || y.dataType() != p.type) {
            throw new IllegalArgumentException("scan y: expected a dense " + p.type + " array of shape "
                    + Arrays.toString(new long[] {p.b, p.t, p.d}) + " but found " + y.dataType() + " "
                    + Arrays.toString(y.shape()));
        }
        Padded padded = new Padded(p.pad(in.dt()), null, null, p.pad(in.C()), null);
        INDArray yPadded = p.paddedLength == p.t ? y : Nd4j.zeros(p.type, p.b, p.paddedLength, p.d);
        INDArray running = p.startState();
        Block block = new Block(p, in.A());
        for (int first = 0; first < p.chunks; first += p.chunksPerBlock) {
            int nb = Math.min(p.chunksPerBlock, p.chunks - first);
            block.loadStepsAndC(padded, first, nb);
            block.propagateOnly(running);
            block.store(block.y, yPadded, first, nb, true);
        }
        if (yPadded != y) {
            y.addi(p.unpad(yPadded));
        }
    }

    /**
     * Gradients of a scalar loss ℓ given dℓ/dy (batch, T, D) and dℓ/d(final state) (batch, D, N; null for zero),
     * with respect to every input and the initial state.
     */
    public static ScanGradients backward(
            ScanInputs in, int chunk, INDArray initialState, INDArray dy, INDArray dFinalState) {
        return backward(in, chunk, initialState, dy, dFinalState, Integer.MAX_VALUE);
    }

    /** As {@link #backward(ScanInputs, int, INDArray, INDArray, INDArray)} with bounded blocks. */
    static ScanGradients backward(
            ScanInputs in, int chunk, INDArray initialState, INDArray dy, INDArray dFinalState, int maxChunksPerBlock) {
        // per lane: the states of every position, the decays, and eight more state arrays
        Plan p = new Plan(in, chunk, initialState, BACKWARD_BUDGET, 2 * chunk + 9, maxChunksPerBlock);
        expect("dy", dy, p.type, p.b, p.t, p.d);
        if (dFinalState != null) {
            expect("dFinalState", dFinalState, p.type, in.stateShape());
        }
        Padded padded = p.padded(in, dy);
        long stateSize = (long) p.b * p.d * p.n;
        // Pass 1: the state entering every chunk (the only thing kept between the passes).
        INDArray chunkStarts = Nd4j.createUninitialized(p.type, (long) p.chunks * stateSize);
        INDArray running = p.startState();
        Block block = new Block(p, in.A());
        for (int first = 0; first < p.chunks; first += p.chunksPerBlock) {
            int nb = Math.min(p.chunksPerBlock, p.chunks - first);
            block.load(padded, first, nb, false);
            block.chunkStarts(running, false);
            Layouts.view(chunkStarts, first * stateSize, nb * stateSize)
                    .assign(Layouts.reshapeView(block.starts, nb * stateSize));
        }
        // Pass 2: blocks in reverse, carrying dℓ/d(state after the block).
        INDArray lambda = dFinalState == null ? Nd4j.zeros(p.type, p.b, p.n, p.d) : Lanes.transposeLast(dFinalState);
        Grads g = new Grads(p);
        for (int first = (p.chunks - 1) / p.chunksPerBlock * p.chunksPerBlock; first >= 0; first -= p.chunksPerBlock) {
            int nb = Math.min(p.chunksPerBlock, p.chunks - first);
            block.load(padded, first, nb, true);
            block.backward(Layouts.view(chunkStarts, first * stateSize, nb * p.b, p.n, p.d), lambda, g.dAt);
            block.store(block.dv, g.dv, first, nb, false);
            block.store(block.ddt, g.ddt, first, nb, false);
            block.store(block.dB, g.dB, first, nb, false);
            block.store(block.dC, g.dC, first, nb, false);
        }
        // v = dt·x and the D skip y += D·x
        INDArray dv = p.unpad(g.dv);
        INDArray ddt = p.unpad(g.ddt).addi(dv.mul(in.x()));
        INDArray dx = dv.muli(in.dt());
        INDArray dD = null;
        if (in.D() != null) {
            dx.addi(Ops.mul(dy, in.D().reshape(1, 1, p.d)));
            dD = dy.mul(in.x()).sum(0, 1);
        }
        return new ScanGradients(
                dx, ddt, Lanes.transposeLast(g.dAt), p.unpad(g.dB), p.unpad(g.dC), dD, Lanes.transposeLast(lambda));
    }

    private static void expect(String name, INDArray a, DataType type, long... shape) {
        if (a == null || !Arrays.equals(a.shape(), shape) || a.dataType() != type) {
            throw new IllegalArgumentException(
                    "scan " + name + ": expected a " + type + " array of shape " + Arrays.toString(shape)
                            + " but found " + (a == null ? "null" : a.dataType() + " " + Arrays.toString(a.shape())));
        }
    }

    /** The chunk count, padding and block size of one call. */
    static final class Plan {
        final int b, t, d, n, chunk, chunks, paddedLength, chunksPerBlock;
        final DataType type;
        final INDArray initialState;

        /** Blocks hold as many chunks as keep {@code arrays} state arrays of [lanes, N, D] within {@code budget}. */
        Plan(ScanInputs in, int chunk, INDArray initialState, long budget, int arrays, int maxChunksPerBlock) {
            if (chunk <= 0) {
                throw new IllegalArgumentException("scan chunk length Q must be positive but is " + chunk);
            }
            if (maxChunksPerBlock <= 0) {
                throw new IllegalArgumentException("chunks per block must be positive but is " + maxChunksPerBlock);
            }
            b = in.batch();
            t = in.seqLen();
            d = in.channels();
            n = in.dState();
            type = in.dtype();
            if (initialState != null) {
                expect("initialState", initialState, type, in.stateShape());
            }
            this.initialState = initialState;
            this.chunk = chunk;
            chunks = Math.max(1, (t + chunk - 1) / chunk);
            paddedLength = chunks * chunk;
            long perChunk = (long) arrays * b * d * n;
            chunksPerBlock = (int) Math.min(Math.min(chunks, Math.max(1, budget / perChunk)), maxChunksPerBlock);
        }

        /** The state entering the sequence, state-major [b, N, D] (zeros when none was given). */
        INDArray startState() {
            return initialState == null ? Nd4j.zeros(type, b, n, d) : Lanes.transposeLast(initialState);
        }

        /** The inputs padded to whole chunks (dense); dy too when given. */
        Padded padded(ScanInputs in, INDArray dy) {
            return new Padded(pad(in.dt()), pad(in.x()), pad(in.B()), pad(in.C()), dy == null ? null : pad(dy));
        }

        /** a (b, T, w) as a dense c-order (b, Tp, w) array, zero-padded at the end; no copy if none is needed. */
        INDArray pad(INDArray a) {
            boolean plain = Layouts.ownsWholeBuffer(a);
            if (a.size(1) == paddedLength && plain) {
                return a;
            }
            INDArray out = Nd4j.zeros(a.dataType(), a.size(0), paddedLength, a.size(2));
            out.get(all(), interval(0, a.size(1)), all()).assign(a);
            return out;
        }

        /** The first T steps of a padded (b, Tp, w) array (a copy when padding was added). */
        INDArray unpad(INDArray padded) {
            return padded.size(1) == t
                    ? padded
                    : padded.get(all(), interval(0, t), all()).dup('c');
        }
    }

    /** The padded per-token inputs (b, Tp, ·): dt, x, B, C and, in the backward, dy. */
    record Padded(INDArray dt, INDArray x, INDArray b, INDArray c, INDArray dy) {}

    /** The backward's gradient accumulators, padded (b, Tp, ·), and dA transposed, [N, D]. */
    static final class Grads {
        final INDArray dv, ddt, dB, dC, dAt;

        Grads(Plan p) {
            dv = Nd4j.zeros(p.type, p.b, p.paddedLength, p.d);
            ddt = Nd4j.zeros(p.type, p.b, p.paddedLength, p.d);
            dB = Nd4j.zeros(p.type, p.b, p.paddedLength, p.n);
            dC = Nd4j.zeros(p.type, p.b, p.paddedLength, p.n);
            dAt = Nd4j.zeros(p.type, p.n, p.d);
        }
    }

    /**
     * One block of chunks as lanes, lane j·b + s being chunk (first + j) of sequence s; per-token arrays are laid out
     * position-major, [Q, lanes, w], so that one position of every lane is a dense [lanes, w] view, and states
     * state-major, [lanes, N, D] ({@link Lanes}). The buffers are made once for the largest block and viewed at the
     * size of each.
     */
    private static final class Block {
        private final Plan p;
        private final INDArray aT;
        private final INDArray dtBuf, vBuf, bBuf, cBuf, yBuf;
        private final INDArray hBuf, startsBuf, alphaBuf, decaysBuf;
        private INDArray dyBuf;
        private INDArray dvBuf, ddtBuf, dBBuf, dCBuf, historyBuf, gBuf, wBuf, tmpBuf, lambdaBuf, dAccBuf;
        private int lanes;
        /** Whether {@link #v} still holds x (not yet dt·x). */
        private boolean xLoaded;

        INDArray dt, v, bm, cm, y, dy, h, starts, alpha, decays;
        INDArray dv, ddt, dB, dC;

        Block(Plan p, INDArray A) {
            this.p = p;
            this.aT = Lanes.transposeLast(A);
            long maxLanes = (long) p.chunksPerBlock * p.b;
            long rowsD = p.chunk * maxLanes * p.d;
            long rowsN = p.chunk * maxLanes * p.n;
            long state = maxLanes * p.d * p.n;
            dtBuf = Nd4j.createUninitialized(p.type, rowsD);
            vBuf = Nd4j.createUninitialized(p.type, rowsD);
            bBuf = Nd4j.createUninitialized(p.type, rowsN);
            cBuf = Nd4j.createUninitialized(p.type, rowsN);
            yBuf = Nd4j.createUninitialized(p.type, rowsD);
            hBuf = Nd4j.createUninitialized(p.type, state);
            startsBuf = Nd4j.createUninitialized(p.type, state);
            alphaBuf = Nd4j.createUninitialized(p.type, state);
            decaysBuf = Nd4j.createUninitialized(p.type, p.chunk * state);
        }

        /**
         * Copies chunks [first, first + nb) of the padded inputs into the position-major block buffers, x into
         * {@link #v}, which {@link #skip} reads before {@link #v} becomes dt·x.
         */
        void load(Padded in, int first, int nb, boolean withDy) {
            loadStepsAndC(in, first, nb);
            gather(in.x(), first, nb, v);
            gather(in.b(), first, nb, bm);
            if (withDy) {
                if (dyBuf == null) {
                    dyBuf = Nd4j.createUninitialized(p.type, yBuf.length());
                }
                dy = rows(dyBuf, p.d);
                gather(in.dy(), first, nb, dy);
            }
            xLoaded = true;
        }

        /** Only dt and C of chunks [first, first + nb): all the initial state's term reads. */
        void loadStepsAndC(Padded in, int first, int nb) {
            lanes = nb * p.b;
            dt = rows(dtBuf, p.d);
            v = rows(vBuf, p.d);
            bm = rows(bBuf, p.n);
            cm = rows(cBuf, p.n);
            y = rows(yBuf, p.d);
            h = state(hBuf);
            starts = state(startsBuf);
            alpha = state(alphaBuf);
            decays = Layouts.view(decaysBuf, 0, p.chunk, lanes, p.n, p.d);
            gather(in.dt(), first, nb, dt);
            gather(in.c(), first, nb, cm);
            xLoaded = false;
        }

        /** y = D·x (zeros without D), before v = dt·x: the outputs then add the read-out into y. */
        void skip(INDArray d) {
            if (d == null) {
                y.assign(0);
            } else {
                Ops.mul(v, Layouts.reshapeView(d, 1, 1, p.d), y);
            }
            toSteps();
        }

        /** v ← dt·x, once per load. */
        private void toSteps() {
            if (xLoaded) {
                Ops.mul(v, dt, v);
                xLoaded = false;
            }
        }

        /** The step decays exp(dt_q ⊗ A) of every position, kept for the passes that follow. */
        private void computeDecays() {
            for (int q = 0; q < p.chunk; q++) {
                Lanes.decay(row(dt, q), aT, decay(q));
            }
        }

        /**
         * Parts 1 and 2: each chunk's final state from zero (computing the step decays on the way) and its decay α,
         * then {@link #starts} = the state entering each chunk, from {@code running} (the state entering the block,
         * [b, N, D]), which advances to the state leaving it. {@code keepDecays}: the decays are kept for part 3.
         */
        void chunkStarts(INDArray running, boolean keepDecays) {
            toSteps();
            h.assign(0);
            INDArray scratch = keepDecays ? null : state(alphaBuf);
            for (int q = 0; q < p.chunk; q++) {
                INDArray decay = keepDecays ? decay(q) : scratch;
                Lanes.decay(row(dt, q), aT, decay);
                Lanes.advance(h, decay, row(v, q), row(bm, q));
            }
            chunkDecays();
            ChunkRecurrence.run(chunkRows(alpha), chunkRows(h), chunkRows(starts), running, false);
        }

        /** α = exp(A ⊗ Σ_q dt) per lane. */
        private void chunkDecays() {
            INDArray dtSum = Nd4j.createUninitialized(p.type, lanes, p.d);
            Ops.sum(dt, dtSum, 0);
            Lanes.decay(dtSum, aT, alpha);
        }

        /** Part 3: every chunk from its true initial state {@link #starts}, y_t += C_t·h_t into {@link #y}. */
        void outputs() {
            h.assign(starts);
            for (int q = 0; q < p.chunk; q++) {
                Lanes.advance(h, decay(q), row(v, q), row(bm, q));
                Lanes.addReadOut(h, row(cm, q), row(y, q));
            }
        }

        /**
         * The initial state's term alone: the states entering the chunks are α-products of {@code running} (which
         * advances past the block), each carried through its chunk by the step decays and read out into {@link #y}.
         */
        void propagateOnly(INDArray running) {
            chunkDecays();
            ChunkRecurrence.run(chunkRows(alpha), null, chunkRows(starts), running, false);
            h.assign(starts);
            INDArray decay = state(alphaBuf);
            for (int q = 0; q < p.chunk; q++) {
                Lanes.decay(row(dt, q), aT, decay);
                Ops.mul(h, decay, h);
                Lanes.readOut(h, row(cm, q), row(y, q));
            }
        }

        /**
         * The block's backward from the states entering its chunks {@code chunkStarts} [lanes, N, D] and
         * {@code lambda}, dℓ/d(state leaving the block) [b, N, D], which becomes dℓ/d(state entering it). Fills
         * {@link #dv}, {@link #ddt} (its decay path), {@link #dB}, {@link #dC} and adds into dAᵀ [N, D].
         */
        void backward(INDArray chunkStarts, INDArray lambda, INDArray dAt) {
            toSteps();
            allocateBackward();
            INDArray g = state(gBuf);
            INDArray w = state(wBuf);
            INDArray tmp = state(tmpBuf);
            INDArray lam = state(lambdaBuf);
            INDArray dAcc = state(dAccBuf);
            computeDecays();
            // the adjoint's chunk summaries: dℓ/d(state entering the chunk) from the chunk's own outputs
            g.assign(0);
            for (int q = p.chunk - 1; q >= 0; q--) {
                Lanes.addOuter(g, row(cm, q), row(dy, q));
                Ops.mul(g, decay(q), g);
            }
            chunkDecays();
            // ... and their reverse recurrence: lam = dℓ/d(state leaving each chunk)
            ChunkRecurrence.run(chunkRows(alpha), chunkRows(g), chunkRows(lam), lambda, true);
            // the block's per-token states, history[q + 1] = h_q and history[0] = the chunk's initial state
            history(0).assign(chunkStarts);
            for (int q = 0; q < p.chunk; q++) {
                Ops.mul(history(q), decay(q), history(q + 1));
                Lanes.addOuter(history(q + 1), row(bm, q), row(v, q));
            }
            // the adjoint through the chunks, from the end
            INDArray a3 = Layouts.reshapeView(aT, 1, p.n, p.d);
            g.assign(lam);
            dAcc.assign(0);
            for (int q = p.chunk - 1; q >= 0; q--) {
                Lanes.addOuter(g, row(cm, q), row(dy, q)); // g = dℓ/dh_q
                Lanes.contractChannels(history(q + 1), row(dy, q), row(dC, q)); // dC_q = Σ_d h_q·dy_q
                Lanes.readOut(g, row(bm, q), row(dv, q)); // dℓ/d(dt·x)_q = Σ_n B_q·g
                Lanes.contractChannels(g, row(v, q), row(dB, q)); // dB_q = Σ_d g·(dt·x)_q
                Ops.mul(g, history(q), w);
                Ops.mul(w, decay(q), w); // w = dℓ/d(dt_q ⊗ A)
                Ops.mul(w, a3, tmp);
                Ops.sum(tmp, row(ddt, q), 1); // Σ_n A·w
                Ops.mul(w, Layouts.reshapeView(row(dt, q), lanes, 1, p.d), tmp);
                dAcc.addi(tmp); // Σ_t dt·w, summed over lanes below
                Ops.mul(g, decay(q), g); // on to dℓ/dh_{q−1}
            }
            dAt.addi(dAcc.sum(0));
        }

        private void allocateBackward() {
            if (historyBuf == null) {
                long maxLanes = (long) p.chunksPerBlock * p.b;
                long state = maxLanes * p.d * p.n;
                dvBuf = Nd4j.createUninitialized(p.type, yBuf.length());
                ddtBuf = Nd4j.createUninitialized(p.type, yBuf.length());
                dBBuf = Nd4j.createUninitialized(p.type, bBuf.length());
                dCBuf = Nd4j.createUninitialized(p.type, bBuf.length());
                historyBuf = Nd4j.createUninitialized(p.type, (p.chunk + 1) * state);
                gBuf = Nd4j.createUninitialized(p.type, state);
                wBuf = Nd4j.createUninitialized(p.type, state);
                tmpBuf = Nd4j.createUninitialized(p.type, state);
                lambdaBuf = Nd4j.createUninitialized(p.type, state);
                dAccBuf = Nd4j.createUninitialized(p.type, state);
            }
            dv = rows(dvBuf, p.d);
            ddt = rows(ddtBuf, p.d);
            dB = rows(dBBuf, p.n);
            dC = rows(dCBuf, p.n);
        }

        /** The step decays of position q, [lanes, N, D]. */
        private INDArray decay(int q) {
            return Layouts.view(decaysBuf, (long) q * lanes * p.n * p.d, lanes, p.n, p.d);
        }

        /** The backward's states before position q (q = 0: the chunks' initial states), [lanes, N, D]. */
        private INDArray history(int q) {
            return Layouts.view(historyBuf, (long) q * lanes * p.n * p.d, lanes, p.n, p.d);
        }

        /** A [lanes, N, D] array as [chunks, b·N·D]: the rows of the inter-chunk recurrence. */
        private INDArray chunkRows(INDArray state) {
            return Layouts.reshapeView(state, lanes / p.b, (long) p.b * p.d * p.n);
        }

        /** The block's [Q, lanes, width] view of a flat buffer. */
        private INDArray rows(INDArray buffer, int width) {
            return Layouts.view(buffer, 0, p.chunk, lanes, width);
        }

        /** The block's [lanes, N, D] view of a flat buffer. */
        private INDArray state(INDArray buffer) {
            return Layouts.view(buffer, 0, lanes, p.n, p.d);
        }

        /** Position q of every lane of a [Q, lanes, width] array: a dense [lanes, width] view. */
        private static INDArray row(INDArray rows, int q) {
            long lanes = rows.size(1), width = rows.size(2);
            return Layouts.view(rows, q * lanes * width, lanes, width);
        }

        /** dst [Q, nb·b, w] = chunks [first, first + nb) of src (b, Tp, w), position-major. */
        private void gather(INDArray src, int first, int nb, INDArray dst) {
            long w = src.size(2);
            INDArray chunks = Layouts.reshapeView(src, p.b, p.chunks, p.chunk, w)
                    .get(all(), interval(first, first + nb), all(), all()); // [b, nb, Q, w]
            INDArray target = Layouts.reshapeView(dst, p.chunk, nb, p.b, w);
            if (Layouts.isDense(chunks)) {
                Layouts.assignPermuted(target, chunks, 2, 1, 0, 3); // low-rank copy
            } else {
                target.assign(chunks.permute(2, 1, 0, 3));
            }
        }

        /** Writes (or adds) a block array [Q, nb·b, w] back into chunks [first, first + nb) of dst (b, Tp, w). */
        void store(INDArray block, INDArray dst, int first, int nb, boolean add) {
            long w = dst.size(2);
            INDArray chunks = Layouts.reshapeView(dst, p.b, p.chunks, p.chunk, w)
                    .get(all(), interval(first, first + nb), all(), all());
            INDArray natural = Nd4j.createUninitialized(p.type, p.b, nb, p.chunk, w);
            Layouts.assignPermuted(natural, Layouts.reshapeView(block, p.chunk, nb, p.b, w), 2, 1, 0, 3);
            if (add) {
                chunks.addi(natural);
            } else {
                chunks.assign(natural);
            }
        }
    }
}
