package io.ssmspark.model.layers;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Rotary position embedding, the non-interleaved (half-split) kind of flash-attn's rotary with
 * interleaved=False, on the first rotaryDim = rd dimensions of each head of x [batch, T, heads, headDim]:
 *
 * <pre>
 *   inv_freq_i = base^(−2i/rd),  angle = position · inv_freq_i   (i &lt; rd/2)
 *   out[i]        = x[i] · cos − x[i + rd/2] · sin
 *   out[i + rd/2] = x[i + rd/2] · cos + x[i] · sin
 * </pre>
 *
 * Dimensions ≥ rd pass through. Angles, cos and sin are computed in fp64 (the exact formula) and then cast to
 * the input's dtype. (flash-attn builds its cos/sin cache from fp32 positions and fp32 inv_freq, so at position p
 * its angles differ from these by about p · 6e-8 · inv_freq radians.)
 */
public final class Rotary {

    /** cos and sin of the angles for positions offset .. offset+T−1, each [1, T, 1, rd/2] in the input dtype. */
    public record Table(INDArray cos, INDArray sin, int rotaryDim) {}

    private Rotary() {}

    public static Table table(long positionOffset, long length, int rotaryDim, double base, DataType dtype) {
        Shapes.require(
                rotaryDim > 0 && rotaryDim % 2 == 0,
                "rotary_emb_dim: expected a positive even number but found %d",
                rotaryDim);
        Shapes.require(
                base > 0 && Double.isFinite(base), "rotary_emb_base: expected a finite value > 0 but found %s", base);
        Shapes.require(positionOffset >= 0, "rotary position offset: expected >= 0 but found %d", positionOffset);
        int half = rotaryDim / 2;
        double[] invFreq = new double[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = Math.pow(base, -2.0 * i / rotaryDim);
        }
        INDArray positions =
                Nd4j.linspace(DataType.DOUBLE, positionOffset, 1.0, length).reshape(length, 1);
        INDArray angles = Nd4j.zeros(DataType.DOUBLE, length, half);
        Ops.add(angles, positions, angles);
        Ops.mul(angles, Nd4j.createFromArray(invFreq), angles);
        INDArray cos = Transforms.cos(angles, true).castTo(dtype).reshape(1, length, 1, half);
        INDArray sin = Transforms.sin(angles, true).castTo(dtype).reshape(1, length, 1, half);
        return new Table(cos, sin, rotaryDim);
    }

    /** Returns the rotated copy of x [batch, T, heads, headDim]. */
    public static INDArray apply(INDArray x, Table table) {
        return rotate(x, table.cos(), table.sin(), table.rotaryDim());
    }

    /** The backward of {@link #apply}: rotates the gradient by the opposite angles (the transpose rotation). */
    public static INDArray applyTransposed(INDArray dy, Table table) {
        return rotate(dy, table.cos(), table.sin().neg(), table.rotaryDim());
    }

    private static INDArray rotate(INDArray x, INDArray cos, INDArray sin, int rotaryDim) {
        long[] xs = Shapes.requireRank("x", x, 4);
        Shapes.require(rotaryDim <= xs[3], "rotary_emb_dim %d exceeds the head dimension %d", rotaryDim, xs[3]);
        Shapes.require(
                cos.size(1) == xs[1] && cos.dataType() == x.dataType(),
                "rotary table: expected %d positions of dtype %s but found %d of %s",
                xs[1],
                x.dataType(),
                cos.size(1),
                cos.dataType());
        int half = rotaryDim / 2;
        INDArray out = x.dup('c');
        INDArray x1 = x.get(all(), all(), all(), interval(0, half));
        INDArray x2 = x.get(all(), all(), all(), interval(half, rotaryDim));
        INDArray o1 = out.get(all(), all(), all(), interval(0, half));
        INDArray o2 = out.get(all(), all(), all(), interval(half, rotaryDim));
        INDArray term = Nd4j.createUninitialized(x.dataType(), xs[0], xs[1], xs[2], half);
        Ops.mul(x1, cos, o1).subi(Ops.mul(x2, sin, term));
        Ops.mul(x2, cos, o2).addi(Ops.mul(x1, sin, term));
        return out;
    }
}
