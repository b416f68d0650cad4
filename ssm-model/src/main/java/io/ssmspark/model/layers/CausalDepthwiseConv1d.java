package io.ssmspark.model.layers;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Mamba2 mixer's causal depthwise conv1d on x [batch, T, C] with weight [C, K] (the checkpoint's (C, 1, K)
 * reshaped) and bias [C]:
 *
 * <pre>
 *   y[b, t, c] = bias[c] + Σ_{k=0..K−1} w[c, k] · xpad[b, t + k, c],   xpad = prev ++ x along time
 * </pre>
 *
 * where prev [batch, K−1, C] holds the K−1 inputs before position 0 (zeros when null). So w[c, K−1] multiplies
 * the current token, as PyTorch's conv1d with padding K−1 truncated to T. The work is one broadcast multiply-add
 * per (sequence, tap) on dense [T, C] views. K must be at least 2.
 */
public final class CausalDepthwiseConv1d {

    /** dx [batch, T, C] and dprev [batch, K−1, C] (the gradient of the prev rows, or of the zero padding). */
    public record Gradients(INDArray dx, INDArray dPrev) {}

    private CausalDepthwiseConv1d() {}

    /** Returns y [batch, T, C]. {@code bias} and {@code prev} may be null. */
    public static INDArray forward(INDArray x, INDArray weight, INDArray bias, INDArray prev) {
        long[] xs = check(x, weight, prev);
        int k = (int) weight.size(1);
        Shapes.requireShapeIfPresent("bias", bias, x.dataType(), xs[2]);
        INDArray xpad = padded(x, prev, k);
        INDArray y = Nd4j.zeros(x.dataType(), xs);
        INDArray taps = weight.transpose().dup('c'); // [K, C]: row tap is contiguous
        INDArray term = Nd4j.createUninitialized(x.dataType(), xs[1], xs[2]);
        for (long b = 0; b < xs[0]; b++) {
            INDArray yb = rowsOf(y, b, 0, xs[1]);
            for (int tap = 0; tap < k; tap++) {
                yb.addi(Ops.mul(rowsOf(xpad, b, tap, xs[1]), taps.getRow(tap), term));
            }
        }
        return bias == null ? y : Ops.add(y, bias, y);
    }

    /**
     * Returns dx and dprev, and accumulates dw[c, k] += Σ_{b,t} dy ∘ xpad[b, t+k, c] and dbias += Σ_{b,t} dy
     * (either accumulator may be null).
     */
    public static Gradients backward(
            INDArray x, INDArray weight, INDArray prev, INDArray dy, INDArray dWeight, INDArray dBias) {
        long[] xs = check(x, weight, prev);
        DataType dt = x.dataType();
        int k = (int) weight.size(1);
        long t = xs[1];
        long c = xs[2];
        Shapes.requireShape("dy", dy, dt, xs);
        Shapes.requireShapeIfPresent("dWeight", dWeight, dt, weight.shape());
        Shapes.requireShapeIfPresent("dBias", dBias, dt, xs[2]);
        INDArray xpad = padded(x, prev, k);
        INDArray dyc = Shapes.contiguous(dy);
        INDArray dxpad = Nd4j.zeros(dt, xs[0], t + k - 1, c);
        INDArray taps = weight.transpose().dup('c');
        INDArray dTaps = Nd4j.zeros(dt, k, c); // dw transposed: row tap
        INDArray term = Nd4j.createUninitialized(dt, t, c);
        for (long b = 0; b < xs[0]; b++) {
            INDArray dyb = rowsOf(dyc, b, 0, t);
            for (int tap = 0; tap < k; tap++) {
                // y[t] depends on xpad[t + tap] through w[:, tap]
                rowsOf(dxpad, b, tap, t).addi(Ops.mul(dyb, taps.getRow(tap), term));
                if (dWeight != null) {
                    Ops.mul(dyb, rowsOf(xpad, b, tap, t), term);
                    Ops.addColumnSums(dTaps.getRow(tap), term);
                }
            }
        }
        if (dWeight != null) {
            dWeight.addi(dTaps.transpose());
        }
        if (dBias != null) {
            Ops.addColumnSums(dBias, dyc.reshape(xs[0] * t, c));
        }
        INDArray dx = dxpad.get(all(), interval(k - 1, t + k - 1), all()).dup('c');
        INDArray dPrev = dxpad.get(all(), interval(0, k - 1), all()).dup('c');
        return new Gradients(dx, dPrev);
    }

    /**
     * The conv on ONE token per sequence, for decoding: y = bias + Σ_k w[:, k] · window[k] with window = prev ++ x
     * [batch, K, C]. x [batch, C] → y [batch, C]; prev [batch, K−1, C] advances by the token, in place.
     */
    public static INDArray step(INDArray x, INDArray weight, INDArray bias, INDArray prev) {
        long b = x.size(0);
        long c = x.size(1);
        int k = (int) weight.size(1);
        checkPrev(prev, x.reshape(b, 1, c), k);
        INDArray window = Nd4j.concat(1, prev, x.reshape(b, 1, c));
        INDArray taps = weight.transpose().dup('c').reshape(1, k, c); // [1, K, C]
        INDArray products = Nd4j.createUninitialized(x.dataType(), b, k, c);
        Ops.mul(window, taps, products);
        INDArray y = products.sum(1);
        if (bias != null) {
            y.addiRowVector(bias);
        }
        prev.assign(window.get(all(), interval(1, k), all()));
        return y;
    }

    /**
     * The last K−1 rows of (prev ++ x) [batch, K−1, C]: the prev rows to hand to the next segment or decoding
     * step. Correct when T &lt; K−1 (some rows then come from prev, zeros when prev is null).
     */
    public static INDArray carryRows(INDArray prev, INDArray x, int kernelSize) {
        Shapes.require(kernelSize >= 2, "conv kernel size: expected at least 2 but found %d", kernelSize);
        long[] xs = Shapes.requireRank("x", x, 3);
        checkPrev(prev, x, kernelSize);
        INDArray xpad = padded(x, prev, kernelSize);
        long total = xs[1] + kernelSize - 1;
        return xpad.get(all(), interval(total - (kernelSize - 1), total), all()).dup('c');
    }

    /** prev ++ x along time: [batch, K−1+T, C]. */
    private static INDArray padded(INDArray x, INDArray prev, int k) {
        INDArray head = prev != null ? prev : Nd4j.zeros(x.dataType(), x.size(0), k - 1, x.size(2));
        return Nd4j.concat(1, head, x);
    }

    /**
     * Rows first .. first+T−1 of sequence b of a dense [batch, rows, C] array, as a dense [T, C] view: ND4J runs
     * 2-D dense ops an order of magnitude faster than the same work on a strided 3-D window.
     */
    private static INDArray rowsOf(INDArray dense, long b, long first, long t) {
        long rows = dense.size(1);
        long c = dense.size(2);
        return Layouts.view(dense, (b * rows + first) * c, t, c);
    }

    private static long[] check(INDArray x, INDArray weight, INDArray prev) {
        long[] xs = Shapes.requireRank("x", x, 3);
        long[] ws = Shapes.requireRank("weight", weight, 2);
        Shapes.requireShape("weight", weight, x.dataType(), xs[2], ws[1]);
        Shapes.require(
                ws[1] >= 2,
                "tensor 'weight': expected a kernel size of at least 2 but found shape [%d, %d]",
                ws[0],
                ws[1]);
        checkPrev(prev, x, (int) ws[1]);
        return xs;
    }

    private static void checkPrev(INDArray prev, INDArray x, int k) {
        Shapes.requireShapeIfPresent("prev", prev, x.dataType(), x.size(0), k - 1, x.size(2));
    }

    /**
     * The previous rows [1, K−1, cols] a conv continues from, given the halo rows [r, cols] of the tokens just before
     * (r ≤ K−1): zero rows in front when they are fewer, as at the sequence start.
     */
    public static INDArray previousRows(INDArray halo, int kernelSize) {
        int k1 = kernelSize - 1;
        long cols = halo.size(1);
        Shapes.require(halo.rows() <= k1, "conv halo: expected at most %d rows but found %d", k1, halo.rows());
        INDArray rows =
                halo.rows() == k1 ? halo : Nd4j.concat(0, Nd4j.zeros(halo.dataType(), k1 - halo.rows(), cols), halo);
        return Shapes.contiguous(rows).reshape(1, k1, cols);
    }

    /** The halo part of previous rows [1, K−1, cols] (null: none): its last {@code rows} rows, one block. */
    public static INDArray[] halo(INDArray previous, int rows) {
        return previous == null ? null : new INDArray[] {lastRows(previous, rows)};
    }

    /** The last {@code rows} of previous rows [1, K−1, cols] as [rows, cols] (a copy). */
    public static INDArray lastRows(INDArray previous, int rows) {
        long k1 = previous.size(1);
        return previous.get(
                        org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(k1 - rows, k1),
                        org.nd4j.linalg.indexing.NDArrayIndex.all())
                .dup('c')
                .reshape(rows, previous.size(2));
    }
}
