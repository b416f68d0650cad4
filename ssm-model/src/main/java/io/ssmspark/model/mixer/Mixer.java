package io.ssmspark.model.mixer;

import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One block's token mixer bound to its weights (DESIGN.md, "One walk over the model"): every path drives the model
 * through this interface, so a new kind of mixer plugs in by implementing it and registering in {@link Mixers}.
 *
 * <p>Inputs are the block's normed stream x [batch, T, d] (one token: [batch, d]); {@code position} is the number of
 * tokens of the sequence before x's first (the rotary position). A {@link Carry} holds what the next window of the
 * same sequences needs (conv rows and SSM state; past keys and values); null means the sequence start.
 */
public interface Mixer {

    /** What a mixer hands to the next window of the same sequences. */
    interface Carry {
        /** Sequences the carry holds (−1 when it holds nothing yet). */
        long batch();

        /** The same kind of carry with {@code f} applied to each of its arrays (null parts stay null). */
        Carry map(UnaryOperator<INDArray> f);

        /** A dense copy that shares nothing with this one. */
        default Carry copy() {
            return map(a -> a.dup('c'));
        }

        /** Frees the carry's arrays at once; only for a carry that owns them. */
        default void free() {
            map(a -> {
                a.close();
                return a;
            });
        }
    }

    /** A whole window's result: out [batch, T, d] and the carry after its last token. */
    interface Window {
        INDArray out();

        Carry carryOut();
    }

    /** A window or step result that keeps nothing else. */
    record Result(INDArray out, Carry carryOut) implements Window {}

    /** dx [batch, T, d] and the gradient of the carry-in (null when none reaches it). */
    record Gradients(INDArray dx, Carry dCarryIn) {}

    /** A segment's mixer run from a zero state, waiting for its true initial state (see {@link #fromZeroState}). */
    interface Segment {
        /** The segment's summary blocks, each [1, n] (Mamba2: α, E), or null when the mixer carries no state. */
        INDArray[] summary();
    }

    /** The kind, for reports and timings ("mamba2", "attention-full", "attention-window", ...). */
    String kind();

    /** Where {@link HybridLm}'s timings count this mixer. */
    LayerTimings.Part timingPart();

    // ---- a whole window, with carries in and out, and its backward ------------------------------------------

    /** Runs a training window: the result keeps what {@link #backward} needs. */
    Window forward(INDArray x, long position, Carry carryIn, LayerTimings timings);

    /** Runs a scoring window: the same numbers as {@link #forward}, keeping nothing for a backward. */
    Window infer(INDArray x, long position, Carry carryIn);

    /**
     * Backward of {@link #forward}: adds the parameter gradients into {@code gradients} (this mixer's kind, bound to
     * the gradient accumulators) and returns dx and dCarryIn. {@code dCarryOut} may be null.
     */
    Gradients backward(
            INDArray x, Window forward, INDArray dOut, Carry dCarryOut, Mixer gradients, LayerTimings timings);

    // ---- one token, for decoding ------------------------------------------------------------------------------

    /**
     * One token per sequence, x [batch, d] → out [batch, d] in O(1) of the position (O(past) for full attention);
     * the window's carry is the one to continue from (a step may update {@code carry}'s arrays in place).
     */
    Window step(INDArray x, long position, Carry carry);

    // ---- the segment protocol of sequence-parallel scoring (DESIGN.md, "State passing across segments") ----------

    /** Rows of earlier tokens a segment reads (its halo): K−1 for a conv, window−1 or all for attention. */
    int haloRows();

    /**
     * What later segments read of x's tokens (x [1, r, d], r = min(haloRows, T), the segment's last rows, the first
     * at {@code position}): at most two blocks, each [r, cols].
     */
    INDArray[] halo(INDArray x, long position);

    /** Whether segments pass a state through {@link #passState}: then a second exchange gives each its S_in. */
    boolean carriesState();

    /**
     * Runs the segment x [1, T, d] from a zero state after the earlier tokens' {@code halo} (the blocks of
     * {@link #halo}, at most {@link #haloRows} rows, laid end to end; null at the sequence start).
     */
    Segment fromZeroState(INDArray x, long position, INDArray[] halo);

    /** The state after a segment: S_out = α·S_in + E for summary (α, E); {@code state} [1, n] may be null (zero). */
    INDArray passState(INDArray state, INDArray[] summary);

    /** Finishes a segment once its true initial state [1, n] is known (null: zero); returns out [1, T, d]. */
    INDArray finish(Segment part, INDArray initialState);

    // ---- the segment protocol of sequence-parallel training (DESIGN.md, "Sequence-parallel backward") -----------
    //
    // A part of a training window runs forward(x, position, carry(halo, S_in)) once the exchange has given it the
    // earlier parts' halo and its true initial state; its backward's dCarryIn then holds the gradients of that halo
    // (sent back to the parts that own the rows) and of S_in (the reverse scan's g_k).

    /**
     * The carry-in after earlier tokens whose {@code halo} (the blocks of {@link #halo}, end to end, at most
     * {@link #haloRows} rows; null: none) and state [1, n] (null: zero) are given. Gradients take the same shape: the
     * carry of a halo's and a state's gradients is a dCarryOut.
     */
    Carry carry(INDArray[] halo, INDArray state);

    /** The halo blocks of carry {@code c}, its last {@code rows} rows each [rows, cols] (null when it holds none). */
    INDArray[] haloOf(Carry c, int rows);

    /** The state of carry {@code c} as [1, n] (null when it holds none). */
    INDArray stateOf(Carry c);

    /**
     * The gradient of S_in from that of S_out under {@code summary} (S_out = α·S_in + E): αᵀ·dS_out. For a real
     * diagonal α (Mamba2, Mamba-1, retention) that is {@link #passState} without E.
     */
    default INDArray passStateGradient(INDArray dStateOut, INDArray[] summary) {
        return passState(
                dStateOut, new INDArray[] {summary[0], summary[1].like().assign(0)});
    }

    /**
     * {@link #fromZeroState} for a training window, keeping what {@link #finishWindow} needs (by default the same
     * segment, and {@code finishWindow} declines).
     */
    default Segment trainingSegment(INDArray x, long position, INDArray[] halo) {
        return fromZeroState(x, position, halo);
    }

    /**
     * The training window a {@link #trainingSegment} becomes once its true initial state [1, n] (null: zero) is
     * known: the same numbers as {@link #forward} from carry(halo, state), reusing the zero-state run; null when the
     * mixer cannot, and the caller runs that forward.
     */
    default Window finishWindow(Segment part, INDArray state) {
        return null;
    }

    /**
     * g = dℓ/dS_in [1, n] through this window's own outputs only (no carry-out gradient), computed without the rest
     * of the backward, or null when the mixer has no such shortcut: sequence-parallel training then runs the
     * backward twice (its output gradient, then the final state's), which the backward's linearity makes exact.
     */
    default INDArray initialStateGradient(INDArray x, Window forward, INDArray dOut) {
        return null;
    }

    /**
     * Backward of {@link #halo}: adds into {@code gradients} the parameter gradients of the halo of x's rows (x
     * [1, r, d], r ≤ haloRows, the first at {@code position}) for the halo gradient {@code dHalo} (each [r, cols]),
     * and returns dx [1, r, d]. It runs the window backward with a zero output gradient and the halo's gradient as
     * dCarryOut: x's carry-out holds exactly its halo rows.
     */
    default INDArray haloBackward(INDArray x, long position, INDArray[] dHalo, Mixer gradients) {
        Window w = forward(x, position, null, null);
        return backward(x, w, w.out().like().assign(0), carry(dHalo, null), gradients, null)
                .dx();
    }
}
