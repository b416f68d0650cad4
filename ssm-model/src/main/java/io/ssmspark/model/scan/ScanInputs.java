package io.ssmspark.model.scan;

import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The inputs of Mamba-1's selective scan (DESIGN.md, "Mamba1 mixer") for a batch of sequences: per channel d and
 * state n,
 *
 * <pre>
 *   h_t[d, n] = exp(dt_t[d]·A[d, n])·h_{t−1}[d, n] + dt_t[d]·x_t[d]·B_t[n]
 *   y_t[d]    = Σ_n C_t[n]·h_t[d, n] + D[d]·x_t[d]
 * </pre>
 *
 * (mamba_ssm's {@code selective_scan_ref} with B and C of shape (batch, N, L), dt already through softplus and its
 * bias, and without z: the mixer applies the gate itself.)
 *
 * @param x (batch, T, D) the post-conv activations
 * @param dt (batch, T, D) the steps, after softplus (≥ 0)
 * @param A (D, N), negative: −exp(A_log)
 * @param B (batch, T, N)
 * @param C (batch, T, N)
 * @param D (D), the skip, or null for none
 */
public record ScanInputs(INDArray x, INDArray dt, INDArray A, INDArray B, INDArray C, INDArray D) {

    public ScanInputs {
        long[] xs = Shapes.requireRank("x", x, 3);
        DataType type = x.dataType();
        Shapes.requireShape("dt", dt, type, xs);
        long[] as = Shapes.requireRank("A", A, 2);
        Shapes.require(as[0] == xs[2], "tensor 'A': expected shape [%d, N] but found [%d, %d]", xs[2], as[0], as[1]);
        Shapes.requireShape("A", A, type, as);
        Shapes.requireShape("B", B, type, xs[0], xs[1], as[1]);
        Shapes.requireShape("C", C, type, xs[0], xs[1], as[1]);
        Shapes.requireShapeIfPresent("D", D, type, xs[2]);
    }

    public int batch() {
        return (int) x.size(0);
    }

    public int seqLen() {
        return (int) x.size(1);
    }

    /** Channels D (d_inner). */
    public int channels() {
        return (int) x.size(2);
    }

    /** State size N (d_state). */
    public int dState() {
        return (int) A.size(1);
    }

    public DataType dtype() {
        return x.dataType();
    }

    /** (batch, D, N): the shape of a state. */
    public long[] stateShape() {
        return new long[] {batch(), channels(), dState()};
    }
}
