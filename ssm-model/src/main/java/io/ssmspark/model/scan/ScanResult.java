package io.ssmspark.model.scan;

import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The scan's output: y (batch, T, D) including D·x, the state after the last token (batch, D, N), and Σ_t dt_t
 * (batch, D), from which the run's decay α = exp(A·Σ dt) follows ({@link #summary}).
 */
public record ScanResult(INDArray y, INDArray finalState, INDArray dtSum) {

    /**
     * The run's effect on the state, S_out = α⊙S_in + E (DESIGN.md, "State passing across segments"): α = exp(Σ_t
     * dt_t ⊗ A) and E = the final state; E is the run's own summary only when it started from zero.
     */
    public ScanSummary summary(INDArray A) {
        long b = dtSum.size(0), d = A.size(0), n = A.size(1);
        INDArray alpha = Nd4j.createUninitialized(A.dataType(), b, d, n);
        Ops.mul(dtSum.reshape(b, d, 1), A.reshape(1, d, n), alpha);
        return new ScanSummary(Ops.exp(alpha, alpha), finalState);
    }
}
