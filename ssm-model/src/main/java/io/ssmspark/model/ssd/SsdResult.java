package io.ssmspark.model.ssd;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What an SSD forward returns: y (batch, T, H, P), the final state S_T (batch, H, P, N), and the
 * total log-decay Σ_t dt_t·A_h (batch, H), from which the segment's α = exp(logDecay).
 */
public record SsdResult(INDArray y, INDArray finalState, INDArray logDecay) {

    /**
     * The segment summary (α, E) of DESIGN.md, valid when this result was computed from a zero initial
     * state: S_out = α·S_in + E.
     */
    public SegmentSummary summary() {
        return new SegmentSummary(org.nd4j.linalg.ops.transforms.Transforms.exp(logDecay, true), finalState);
    }
}
