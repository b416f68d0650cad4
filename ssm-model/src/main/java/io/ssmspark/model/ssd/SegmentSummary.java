package io.ssmspark.model.ssd;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A segment's effect on the SSD state (DESIGN.md, "State passing across segments"). A segment is
 * affine in its initial state: S_out = α·S_in + E, with α = exp(Σ dt·A) per (batch, head) and E the
 * segment's final state from a zero start.
 *
 * <p>Summaries compose in sequence order: (α1, E1) then (α2, E2) = (α1·α2, α2·E1 + E2). The
 * operation is associative with identity (1, 0), so the initial state of every segment follows from
 * an exclusive scan.
 *
 * @param alpha (batch, H)
 * @param E (batch, H, P, N)
 */
public record SegmentSummary(INDArray alpha, INDArray E) {

    public SegmentSummary {
        if (alpha.rank() != 2 || E.rank() != 4 || alpha.size(0) != E.size(0) || alpha.size(1) != E.size(1)) {
            throw new IllegalArgumentException(
                    "alpha must have shape (batch, H) and E (batch, H, P, N) with the same batch and H, but alpha has "
                            + SsdInputs.shape(alpha) + " and E has " + SsdInputs.shape(E));
        }
    }

    /** The identity (1, 0) for states of the given shape (batch, H, P, N). */
    public static SegmentSummary identity(DataType dtype, long... stateShape) {
        return new SegmentSummary(Nd4j.ones(dtype, stateShape[0], stateShape[1]), Nd4j.zeros(dtype, stateShape));
    }

    /** This segment followed by {@code next}: (α1·α2, α2·E1 + E2). */
    public SegmentSummary then(SegmentSummary next) {
        INDArray alpha = this.alpha.mul(next.alpha);
        INDArray e = Ops.mul(dense(E), broadcastable(next.alpha)).addi(next.E);
        return new SegmentSummary(alpha, e);
    }

    /** The state after this segment when it starts from {@code initialState}: α·S_in + E. */
    public INDArray apply(INDArray initialState) {
        return Ops.mul(dense(initialState), broadcastable(alpha)).addi(E);
    }

    /**
     * Exclusive scan in sequence order: element k combines summaries 0..k−1 (element 0 is the
     * identity). Applied to the sequence's initial state it gives segment k's true initial state.
     */
    public static List<SegmentSummary> exclusiveScan(List<SegmentSummary> segments) {
        if (segments.isEmpty()) {
            return List.of();
        }
        SegmentSummary first = segments.get(0);
        List<SegmentSummary> prefixes = new ArrayList<>(segments.size());
        SegmentSummary running = identity(first.E.dataType(), first.E.shape());
        for (SegmentSummary s : segments) {
            prefixes.add(running);
            running = running.then(s);
        }
        return prefixes;
    }

    /** The initial state of each segment, from the sequence's initial state (null: zeros). */
    public static List<INDArray> initialStates(List<SegmentSummary> segments, INDArray sequenceInitialState) {
        List<INDArray> states = new ArrayList<>(segments.size());
        for (SegmentSummary prefix : exclusiveScan(segments)) {
            states.add(sequenceInitialState == null ? prefix.E.dup() : prefix.apply(sequenceInitialState));
        }
        return states;
    }

    /** α as (batch, H, 1, 1), dense, so {@link Ops#mul} runs the broadcast as [batch·H, P·N] × [batch·H, 1]. */
    private static INDArray broadcastable(INDArray alpha) {
        return dense(alpha).reshape(alpha.size(0), alpha.size(1), 1, 1);
    }

    private static INDArray dense(INDArray a) {
        return Layouts.isDense(a) ? a : a.dup('c');
    }
}
