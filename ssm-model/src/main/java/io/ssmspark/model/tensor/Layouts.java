package io.ssmspark.model.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Views and layout changes that keep ND4J on its fast paths. ND4J runs elementwise ops, broadcasts
 * and strided copies far faster on low-rank arrays than on high-rank ones with unit axes (README,
 * "Measured design choices"), so
 * these helpers drop unit axes and merge axes that stay adjacent before handing arrays to ND4J.
 */
public final class Layouts {
    private Layouts() {}

    /** True when {@code a} is dense in c order and holds its whole buffer from offset 0, so the buffer is a. */
    public static boolean ownsWholeBuffer(INDArray a) {
        return isDense(a) && a.offset() == 0 && a.length() == a.data().length();
    }

    /**
     * True when {@code a}'s elements are contiguous in c order (strides of unit axes, which ND4J sets
     * freely, are ignored), so {@link #reshapeView} can give any shape of the same length.
     */
    public static boolean isDense(INDArray a) {
        long[] shape = a.shape(), stride = a.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /** A view of dense {@code a} with another shape of the same length (never a copy). */
    public static INDArray reshapeView(INDArray a, long... shape) {
        return view(a, 0, shape);
    }

    /**
     * A dense c-order view of {@code shape} over {@code base}'s buffer, starting {@code offset}
     * elements after {@code base}'s own start. {@code base} must be dense.
     */
    public static INDArray view(INDArray base, long offset, long... shape) {
        if (!isDense(base)) {
            throw new IllegalArgumentException("view needs a dense c-order base array, got strides "
                    + Arrays.toString(base.stride()) + " for shape " + Arrays.toString(base.shape()));
        }
        long length = 1;
        for (long s : shape) {
            length *= s;
        }
        if (offset < 0 || offset + length > base.length() && !(base.length() == 0 && length == 0)) {
            throw new IllegalArgumentException("view of " + length + " elements at offset " + offset
                    + " does not fit in an array of " + base.length());
        }
        long[] stride = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i];
        }
        return Nd4j.create(base.data(), shape, stride, base.offset() + offset, 'c');
    }

    /**
     * dst = src.permute(perm), with unit axes dropped and neighbouring axes merged first wherever both arrays'
     * strides allow (always, for dense arrays), so the copy runs at low rank; src and dst may be strided views.
     */
    public static void assignPermuted(INDArray dst, INDArray src, int... perm) {
        long[] shape = src.shape(), srcStride = src.stride(), dstStride = dst.stride();
        if (perm.length != shape.length
                || !Arrays.equals(dst.shape(), src.permute(perm).shape())) {
            dst.assign(src.permute(perm));
            return;
        }
        // runs of destination axes that are also neighbours in the source, each run one axis: {first dst axis, last}
        List<int[]> runs = new ArrayList<>();
        int previousSource = -1;
        for (int k = 0; k < perm.length; k++) {
            int axis = perm[k];
            if (shape[axis] == 1) {
                continue;
            }
            int[] last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
            boolean merge = last != null
                    && nextKept(shape, previousSource) == axis
                    && srcStride[previousSource] == srcStride[axis] * shape[axis]
                    && dstStride[last[1]] == dstStride[k] * shape[axis];
            if (merge) {
                last[1] = k;
            } else {
                runs.add(new int[] {k, k});
            }
            previousSource = axis;
        }
        if (runs.isEmpty()) {
            dst.assign(src);
            return;
        }
        int n = runs.size();
        long[] runSize = new long[n], runDstStride = new long[n], runSrcStride = new long[n];
        Integer[] bySource = new Integer[n];
        for (int i = 0; i < n; i++) {
            int[] run = runs.get(i);
            long size = 1;
            for (int k = run[0]; k <= run[1]; k++) {
                size *= shape[perm[k]];
            }
            runSize[i] = size;
            runDstStride[i] = dstStride[run[1]];
            runSrcStride[i] = srcStride[perm[run[1]]];
            bySource[i] = i;
        }
        Arrays.sort(bySource, (x, y) -> Integer.compare(perm[runs.get(x)[0]], perm[runs.get(y)[0]]));
        long[] srcShape = new long[n], srcStrides = new long[n];
        int[] toDst = new int[n];
        for (int j = 0; j < n; j++) {
            srcShape[j] = runSize[bySource[j]];
            srcStrides[j] = runSrcStride[bySource[j]];
            toDst[bySource[j]] = j;
        }
        INDArray srcView = Nd4j.create(src.data(), srcShape, srcStrides, src.offset(), 'c');
        INDArray dstView = Nd4j.create(dst.data(), runSize, runDstStride, dst.offset(), 'c');
        dstView.assign(srcView.permute(toDst));
    }

    /** The first axis after {@code axis} whose size is not 1 (or shape.length). */
    private static int nextKept(long[] shape, int axis) {
        int next = axis + 1;
        while (next < shape.length && shape[next] == 1) {
            next++;
        }
        return next;
    }

    /**
     * Shapes for an elementwise op out = f(a, b) with numpy broadcasting, reduced to the lowest rank:
     * axes where out has size 1 are dropped, and neighbouring axes merged when each input is either
     * full on both or broadcast (size 1) on both. Returns null when an array is not dense.
     */
    static long[][] coalescedShapes(INDArray out, INDArray a, INDArray b) {
        if (!isDense(out) || !isDense(a) || !isDense(b)) {
            return null;
        }
        int r = out.rank();
        long[] so = out.shape(), sa = padLeft(a.shape(), r), sb = padLeft(b.shape(), r);
        if (sa == null || sb == null) {
            return null;
        }
        List<long[]> dims = new ArrayList<>(); // {out, a, b} sizes per merged axis
        for (int d = 0; d < r; d++) {
            if (so[d] == 1) {
                continue;
            }
            long[] cur = {so[d], sa[d], sb[d]};
            long[] prev = dims.isEmpty() ? null : dims.get(dims.size() - 1);
            if (prev != null && (prev[1] == 1) == (cur[1] == 1) && (prev[2] == 1) == (cur[2] == 1)) {
                prev[0] *= cur[0];
                prev[1] *= cur[1];
                prev[2] *= cur[2];
            } else {
                dims.add(cur);
            }
        }
        if (dims.isEmpty()) {
            dims.add(new long[] {1, 1, 1});
        }
        long[][] shapes = new long[3][dims.size()];
        for (int i = 0; i < dims.size(); i++) {
            for (int k = 0; k < 3; k++) {
                shapes[k][i] = dims.get(i)[k];
            }
        }
        return shapes;
    }

    private static long[] padLeft(long[] shape, int rank) {
        if (shape.length > rank) {
            return null;
        }
        long[] out = new long[rank];
        Arrays.fill(out, 1);
        System.arraycopy(shape, 0, out, rank - shape.length, shape.length);
        return out;
    }
}
