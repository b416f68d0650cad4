package io.ssmspark.model.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

class LayoutsTest {

    /** A view of a larger random array that keeps {@code shape}'s leading part of every axis: strided. */
    private static INDArray stridedView(Random r, long[] shape, boolean dense) {
        if (dense) {
            return Nd4j.rand(DataType.DOUBLE, shape);
        }
        long[] larger = shape.clone();
        INDArrayIndex[] idx = new INDArrayIndex[shape.length];
        for (int i = 0; i < shape.length; i++) {
            larger[i] += r.nextInt(2);
            idx[i] = NDArrayIndex.interval(0, shape[i]);
        }
        return Nd4j.rand(DataType.DOUBLE, larger).get(idx);
    }

    @Test
    void assignPermutedEqualsAPlainPermutedAssignForDenseAndStridedArrays() {
        Random r = new Random(5);
        for (int trial = 0; trial < 300; trial++) {
            int rank = 1 + r.nextInt(5);
            long[] shape = new long[rank];
            for (int i = 0; i < rank; i++) {
                shape[i] = r.nextInt(4) == 0 ? 1 : 2 + r.nextInt(4);
            }
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < rank; i++) {
                order.add(i);
            }
            Collections.shuffle(order, r);
            int[] perm = order.stream().mapToInt(Integer::intValue).toArray();
            INDArray src = stridedView(r, shape, r.nextBoolean());
            long[] dstShape = src.permute(perm).shape();
            INDArray expected = src.permute(perm).dup('c');
            INDArray dst = stridedView(r, dstShape, r.nextBoolean());
            Layouts.assignPermuted(dst, src, perm);
            assertEquals(
                    expected,
                    dst.dup('c'),
                    "trial " + trial + " shape " + java.util.Arrays.toString(shape) + " perm "
                            + java.util.Arrays.toString(perm));
        }
    }
}
