package io.ssmspark.model.ssd;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The inputs of one SSD layer call (DESIGN.md, "SSD"):
 *
 * <pre>
 *   x  (batch, T, H, P)   values
 *   dt (batch, T, H)      steps, > 0
 *   A  (H)                per-head decay rate, < 0
 *   B  (batch, T, G, N)   input projections, shared by the heads of a group
 *   C  (batch, T, G, N)   output projections, shared likewise
 *   D  (H) or (H·P)       skip connection, per head or per channel; may be null (no skip)
 * </pre>
 *
 * Construction validates every shape and the dtype; a mismatch is an IllegalArgumentException that
 * names the argument, its shape and the shape expected.
 */
public record SsdInputs(INDArray x, INDArray dt, INDArray A, INDArray B, INDArray C, INDArray D) {

    public SsdInputs {
        dimsOf(x, dt, A, B, C, D);
    }

    /** The problem sizes, derived from (and checked against) the arrays. */
    public SsdDims dims() {
        return dimsOf(x, dt, A, B, C, D);
    }

    private static SsdDims dimsOf(INDArray x, INDArray dt, INDArray A, INDArray B, INDArray C, INDArray D) {
        require(x != null, "x must not be null");
        require(dt != null && A != null && B != null && C != null, "dt, A, B and C must not be null");
        require(x.rank() == 4, "x must have shape (batch, T, H, P) but has shape " + shape(x));
        int batch = (int) x.size(0), T = (int) x.size(1), H = (int) x.size(2), P = (int) x.size(3);
        DataType dtype = x.dataType();
        require(dtype == DataType.FLOAT || dtype == DataType.DOUBLE, "x must be FLOAT or DOUBLE but is " + dtype);
        require(T >= 1 && H >= 1 && P >= 1 && batch >= 1, "x has an empty axis: shape " + shape(x));
        expectShape("dt", dt, "x " + shape(x), batch, T, H);
        expectShape("A", A, "x " + shape(x), H);
        require(
                B.rank() == 4 && B.size(0) == batch && B.size(1) == T,
                "B must have shape (batch, T, G, N) = (" + batch + ", " + T + ", G, N) to match x " + shape(x)
                        + " but has shape " + shape(B));
        int G = (int) B.size(2), N = (int) B.size(3);
        require(G >= 1 && N >= 1, "B has an empty axis: shape " + shape(B));
        require(
                H % G == 0,
                "heads H = " + H + " (x " + shape(x) + ") must be divisible by groups G = " + G + " (B " + shape(B)
                        + ")");
        expectShape("C", C, "B " + shape(B), batch, T, G, N);
        boolean perChannel = false;
        if (D != null) {
            require(D.rank() == 1, "D must have shape (H) or (H·P) but has shape " + shape(D));
            perChannel = D.length() == (long) H * P && D.length() != H;
            require(
                    D.length() == H || D.length() == (long) H * P,
                    "D must have shape [" + H + "] or [" + (H * P) + "] (H or H·P for x " + shape(x)
                            + ") but has shape " + shape(D));
        }
        for (var named : new Object[][] {{"dt", dt}, {"A", A}, {"B", B}, {"C", C}, {"D", D}}) {
            INDArray a = (INDArray) named[1];
            require(
                    a == null || a.dataType() == dtype,
                    named[0] + " has dtype " + (a == null ? "" : a.dataType()) + " but x has " + dtype);
        }
        return new SsdDims(batch, T, H, P, G, N, perChannel, dtype);
    }

    static void expectShape(String name, INDArray a, String versus, long... expected) {
        if (a == null || !Arrays.equals(a.shape(), expected)) {
            throw new IllegalArgumentException(name + " must have shape " + Arrays.toString(expected) + " to match "
                    + versus + " but has shape " + (a == null ? "null" : shape(a)));
        }
    }

    static String shape(INDArray a) {
        return Arrays.toString(a.shape());
    }

    static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
