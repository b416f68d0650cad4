package io.ssmspark.model.scan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A segment's effect on the Mamba-1 state (DESIGN.md, "State passing across segments"): the scan is affine in its
 * initial state, S_out = α⊙S_in + E, with α = Π_t exp(dt_t ⊗ A) = exp(Σ_t dt_t ⊗ A) per (batch, channel, state)
 * and E the segment's final state from a zero start.
 *
 * <p>Summaries compose in sequence order, (α1, E1) then (α2, E2) = (α1⊙α2, α2⊙E1 + E2): associative, with
 * identity (1, 0), so the initial state of every segment follows from an exclusive scan. (The same combine as the
 * SSD's {@link io.ssmspark.model.ssd.SegmentSummary}, with α per state entry instead of per head.)
 *
 * @param alpha (batch, D, N)
 * @param E (batch, D, N)
 */
public record ScanSummary(INDArray alpha, INDArray E) {

    public ScanSummary {
        if (alpha == null || E == null || alpha.rank() != 3 || !Arrays.equals(alpha.shape(), E.shape())) {
            throw new IllegalArgumentException(
                    "scan summary: alpha and E must both have shape (batch, D, N), but found "
                            + (alpha == null ? "null" : Arrays.toString(alpha.shape())) + " and "
                            + (E == null ? "null" : Arrays.toString(E.shape())));
        }
    }

    /** The identity (1, 0) for states of shape (batch, D, N). */
    public static ScanSummary identity(DataType dtype, long... stateShape) {
        return new ScanSummary(Nd4j.ones(dtype, stateShape), Nd4j.zeros(dtype, stateShape));
    }

    /** This segment followed by {@code next}: (α1⊙α2, α2⊙E1 + E2). */
    public ScanSummary then(ScanSummary next) {
        return new ScanSummary(alpha.mul(next.alpha), E.mul(next.alpha).addi(next.E));
    }

    /** The state after this segment when it starts from {@code initialState}: α⊙S_in + E. */
    public INDArray apply(INDArray initialState) {
        return initialState.mul(alpha).addi(E);
    }

    /** Exclusive scan in sequence order: element k combines summaries 0..k−1 (element 0 is the identity). */
    public static List<ScanSummary> exclusiveScan(List<ScanSummary> segments) {
        List<ScanSummary> prefixes = new ArrayList<>(segments.size());
        if (segments.isEmpty()) {
            return prefixes;
        }
        ScanSummary running =
                identity(segments.get(0).E.dataType(), segments.get(0).E.shape());
        for (ScanSummary s : segments) {
            prefixes.add(running);
            running = running.then(s);
        }
        return prefixes;
    }

    /** The initial state of each segment, from the sequence's initial state (null: zeros). */
    public static List<INDArray> initialStates(List<ScanSummary> segments, INDArray sequenceInitialState) {
        List<INDArray> states = new ArrayList<>(segments.size());
        for (ScanSummary prefix : exclusiveScan(segments)) {
            states.add(sequenceInitialState == null ? prefix.E.dup() : prefix.apply(sequenceInitialState));
        }
        return states;
    }
}
