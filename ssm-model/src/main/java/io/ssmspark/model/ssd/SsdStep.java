package io.ssmspark.model.ssd;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * One token of SSD (DESIGN.md, "SSD"), for recurrent decoding: O(H·P·N) work, no chunk padding.
 *
 * <pre>
 *   a   = exp(dt·A)                        (b, H)
 *   S   = a·S + (dt·x) Bᵀ                  (b, H, P, N), in place
 *   y   = S C + D·x                        (b, H, P)
 * </pre>
 *
 * The heads of one group share B and C, so the state is viewed as (b·G, heads-per-group·P, N): the outer
 * product and the read-out are then one batched matmul each over (b·G).
 */
public final class SsdStep {
    private SsdStep() {}

    /**
     * Advances {@code state} (batch, H, P, N), dense c order, by one token and returns y (batch, H, P).
     *
     * @param x (batch, H, P)
     * @param dt (batch, H), the step after softplus
     * @param A (H), negative
     * @param B (batch, G, N)
     * @param C (batch, G, N)
     * @param D (H) or (H·P), or null for no skip
     */
    public static INDArray step(
            INDArray x, INDArray dt, INDArray A, INDArray B, INDArray C, INDArray D, INDArray state) {
        require(x != null && x.rank() == 3, "x", "(batch, H, P)", x);
        long b = x.size(0), h = x.size(1), p = x.size(2);
        require(dt != null && dt.rank() == 2, "dt", "(batch, H)", dt);
        require(B != null && B.rank() == 3, "B", "(batch, G, N)", B);
        require(C != null && C.rank() == 3, "C", "(batch, G, N)", C);
        long g = B.size(1), n = B.size(2);
        // The one-token problem is a T = 1 SsdInputs: reuse its shape and dtype checks.
        new SsdInputs(x.reshape(b, 1, h, p), dt.reshape(b, 1, h), A, B.reshape(b, 1, g, n), C.reshape(b, 1, g, n), D);
        if (state == null
                || !Arrays.equals(state.shape(), new long[] {b, h, p, n})
                || state.dataType() != x.dataType()
                || !Layouts.isDense(state)) {
            throw new IllegalArgumentException("SSD step state: expected a dense " + x.dataType() + " array of shape "
                    + Arrays.toString(new long[] {b, h, p, n}) + " but found "
                    + (state == null
                            ? "null"
                            : state.dataType() + " " + Arrays.toString(state.shape())
                                    + (Layouts.isDense(state) ? "" : " (not dense c order)")));
        }
        long perGroup = h / g;

        // S ← exp(dt·A)·S, one decay per (batch, head) row of P·N entries
        INDArray decay = Transforms.exp(
                Nd4j.createUninitialized(dt.dataType(), b, h).assign(dt).muliRowVector(A), false);
        INDArray rows = Layouts.reshapeView(state, b * h, p * n);
        Ops.mul(rows, decay.reshape(b * h, 1), rows);

        // S += (dt·x) Bᵀ: per (batch, group) a [perGroup·P, 1] × [1, N] outer product added into the state
        INDArray dtx = Nd4j.createUninitialized(x.dataType(), b, h, p);
        Ops.mul(contiguous(x), contiguous(dt).reshape(b, h, 1), dtx);
        INDArray grouped = Layouts.reshapeView(state, b * g, perGroup * p, n);
        Ops.matmul(
                dtx.reshape(b * g, perGroup * p, 1),
                contiguous(B).reshape(b * g, 1, n),
                grouped,
                false,
                false,
                1.0,
                1.0);

        // y = S C + D·x
        INDArray y = Nd4j.createUninitialized(x.dataType(), b * g, perGroup * p, 1);
        Ops.matmul(grouped, contiguous(C).reshape(b * g, n, 1), y, false, false);
        INDArray out = y.reshape(b, h, p);
        if (D != null) {
            INDArray skip = Nd4j.createUninitialized(x.dataType(), b, h, p);
            Ops.mul(contiguous(x), D.length() == h ? D.reshape(1, h, 1) : D.reshape(1, h, p), skip);
            out.addi(skip);
        }
        return out;
    }

    private static INDArray contiguous(INDArray a) {
        return Layouts.isDense(a) ? a : a.dup('c');
    }

    private static void require(boolean ok, String name, String expected, INDArray found) {
        if (!ok) {
            throw new IllegalArgumentException("SSD step " + name + ": expected shape " + expected + " but found "
                    + (found == null ? "null" : Arrays.toString(found.shape())));
        }
    }
}
