package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class CompensatedSumTest {

    /** Terms whose plain double sum depends on the order: 1e16 swallows 1. The exact sum is 2. */
    private static final double[][] TERMS = {{1e16, -3}, {1, 0.5}, {-1e16, 3}, {1, 0.25}};

    private static double[] sumInOrder(int... order) {
        CompensatedSum sum = new CompensatedSum(2);
        for (int i : order) {
            sum.add(Nd4j.createFromArray(TERMS[i]));
        }
        return sum.total().toDoubleVector();
    }

    @Test
    void everyOrderGivesTheExactSum() {
        for (int[] order : List.of(
                new int[] {0, 1, 2, 3}, new int[] {1, 3, 0, 2}, new int[] {0, 2, 1, 3}, new int[] {3, 2, 1, 0})) {
            double[] total = sumInOrder(order);
            assertEquals(2.0, total[0], 0.0);
            assertEquals(0.75, total[1], 0.0);
        }
        // Plain double addition in the first order loses both ones: the reason this class exists.
        assertNotEquals(2.0, ((1e16 + 1) - 1e16) + 1);
    }

    @Test
    void addingPackedPartialSumsInAnyGroupingIsExact() {
        CompensatedSum left = new CompensatedSum(2);
        left.add(Nd4j.createFromArray(TERMS[0]));
        left.add(Nd4j.createFromArray(TERMS[1]));
        CompensatedSum right = new CompensatedSum(2);
        right.add(Nd4j.createFromArray(TERMS[2]));
        right.add(Nd4j.createFromArray(TERMS[3]));
        right.add(left.pack());
        assertEquals(2.0, right.total().getDouble(0), 0.0);
        assertEquals(0.75, right.total().getDouble(1), 0.0);
    }

    @Test
    void packingRoundsHiToTheSumAndKeepsTheRestInLo() {
        CompensatedSum sum = new CompensatedSum(2);
        sum.add(Nd4j.createFromArray(1e16, 1.0));
        sum.add(Nd4j.createFromArray(1.0, 1e-20)); // 1e16 + 1 rounds to 1e16: the 1 goes to lo
        sum.add(Nd4j.createFromArray(1.0, 0.0));
        PackedSum packed = sum.pack();
        assertEquals(1e16 + 2, packed.hi[0], 0.0); // lo folded back into hi: the sum is a double again
        assertEquals(0f, packed.lo[0], 0f);
        assertEquals(1.0, packed.hi[1], 0.0); // 1 + 1e-20 is not a double: the rest stays in lo
        assertEquals((float) 1e-20, packed.lo[1], 0f);
        CompensatedSum back = new CompensatedSum(2);
        back.add(packed);
        back.add(Nd4j.createFromArray(-1e16, -1.0));
        assertEquals(2.0, back.total().getDouble(0), 0.0);
        assertEquals((double) (float) 1e-20, back.total().getDouble(1), 0.0);
        assertEquals(24, packed.byteSize());
    }

    /**
     * Gradient-like terms over 14 orders of magnitude, summed as 1 to 4 partitions of micro-batches (partition p
     * takes micro-batches p, p+P, ...), each partition's sum packed and added in partition order: the totals are
     * identical, while plain double addition of the same terms in the same orders is not.
     */
    @Test
    void packedPartitionSumsGiveTheSameTotalForEveryPartitionCount() {
        Random random = new Random(11);
        int length = 2000;
        int terms = 12;
        double[][] values = new double[terms][length];
        for (double[] term : values) {
            for (int i = 0; i < length; i++) {
                term[i] = random.nextGaussian() * Math.pow(10, random.nextInt(15) - 7);
            }
        }
        double[] reference = null;
        boolean plainDiffers = false;
        double[] plainReference = null;
        for (int partitions = 1; partitions <= 4; partitions++) {
            double[] total;
            double[] plain = new double[length];
            try (CompensatedSum driver = new CompensatedSum(length)) {
                for (int p = 0; p < partitions; p++) {
                    double[] partPlain = new double[length];
                    try (CompensatedSum part = new CompensatedSum(length)) {
                        for (int t = p; t < terms; t += partitions) {
                            part.add(Nd4j.createFromArray(values[t]));
                            for (int i = 0; i < length; i++) {
                                partPlain[i] += values[t][i];
                            }
                        }
                        driver.add(part.pack());
                    }
                    for (int i = 0; i < length; i++) {
                        plain[i] += partPlain[i];
                    }
                }
                total = driver.total().toDoubleVector();
            }
            if (reference == null) {
                reference = total;
                plainReference = plain;
            } else {
                assertArrayEquals(reference, total, partitions + " partitions");
                plainDiffers |= !Arrays.equals(plainReference, plain);
            }
        }
        assertTrue(plainDiffers, "plain double sums should depend on the grouping for these terms");
    }

    @Test
    void aPackedSumOfTheWrongLengthIsRefused() {
        CompensatedSum three = new CompensatedSum(3);
        CompensatedSum two = new CompensatedSum(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> three.add(two.pack()));
        assertEquals("compensated sum: expected a packed sum of 3 entries but found 2", e.getMessage());
    }

    @Test
    void floatTermsAreWidenedExactly() {
        CompensatedSum sum = new CompensatedSum(1);
        sum.add(Nd4j.createFromArray(new float[] {1e8f}));
        sum.add(Nd4j.createFromArray(new float[] {0.1f}));
        assertEquals(1e8 + (double) 0.1f, sum.total().getDouble(0), 0.0);
        assertEquals(DataType.DOUBLE, sum.total().dataType());
    }

    @Test
    void scalarSumIsExactInEveryOrder() {
        ScalarSum a = new ScalarSum();
        for (double x : new double[] {1e16, 1, -1e16, 1}) {
            a.add(x);
        }
        ScalarSum b = new ScalarSum();
        b.add(1);
        ScalarSum c = new ScalarSum();
        c.add(-1e16);
        c.add(1);
        c.add(1e16);
        b.add(c);
        assertEquals(2.0, a.value(), 0.0);
        assertEquals(2.0, b.value(), 0.0);
    }

    @Test
    void aTermOfTheWrongLengthIsRefused() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> new CompensatedSum(3).add(Nd4j.zeros(DataType.DOUBLE, 2)));
        assertEquals("compensated sum: expected a term of 3 entries but found 2", e.getMessage());
    }

    /**
     * The fused pass rounds exactly as TwoSum written as separate element-wise ND4J ops (its form before): the same
     * packed bits for float and double terms of wide range, strided terms and packed partial sums.
     */
    @Test
    void theFusedPassGivesTheBitsOfTwoSumAsElementwiseOps() {
        Random random = new Random(7);
        int n = 10_001;
        try (CompensatedSum fused = new CompensatedSum(n)) {
            org.nd4j.linalg.api.ndarray.INDArray hi = Nd4j.zeros(DataType.DOUBLE, n);
            org.nd4j.linalg.api.ndarray.INDArray lo = Nd4j.zeros(DataType.DOUBLE, n);
            for (int term = 0; term < 12; term++) {
                double[] x = new double[n];
                for (int i = 0; i < n; i++) {
                    x[i] = random.nextGaussian() * Math.pow(10, random.nextInt(40) - 20);
                }
                org.nd4j.linalg.api.ndarray.INDArray t = term % 3 == 0
                        ? Nd4j.createFromArray(x).castTo(DataType.FLOAT)
                        : term % 3 == 1
                                ? Nd4j.createFromArray(x)
                                : Nd4j.createFromArray(x)
                                        .reshape(1, n)
                                        .repeat(0, 2)
                                        .getRow(1); // a view
                fused.add(t);
                org.nd4j.linalg.api.ndarray.INDArray w = t.castTo(DataType.DOUBLE);
                org.nd4j.linalg.api.ndarray.INDArray sum = hi.add(w);
                org.nd4j.linalg.api.ndarray.INDArray bv = sum.sub(hi);
                lo.addi(hi.sub(sum.sub(bv)).addi(w.sub(bv)));
                hi = sum;
            }
            org.nd4j.linalg.api.ndarray.INDArray sum = hi.add(lo);
            org.nd4j.linalg.api.ndarray.INDArray bv = sum.sub(hi);
            float[] expectedLo =
                    lo.sub(bv).addi(hi.sub(sum.sub(bv))).castTo(DataType.FLOAT).toFloatVector();
            PackedSum packed = fused.pack();
            assertArrayEquals(sum.toDoubleVector(), packed.hi);
            assertArrayEquals(expectedLo, packed.lo);

            try (CompensatedSum again = new CompensatedSum(n)) {
                again.add(packed);
                again.add(packed);
                org.nd4j.linalg.api.ndarray.INDArray h = Nd4j.createFromArray(packed.hi);
                org.nd4j.linalg.api.ndarray.INDArray s2 = h.add(h);
                org.nd4j.linalg.api.ndarray.INDArray b2 = s2.sub(h);
                org.nd4j.linalg.api.ndarray.INDArray l2 = h.sub(s2.sub(b2)).addi(h.sub(b2));
                org.nd4j.linalg.api.ndarray.INDArray packedLo =
                        Nd4j.createFromArray(packed.lo).castTo(DataType.DOUBLE);
                l2 = packedLo.add(l2).addi(packedLo);
                assertArrayEquals(s2.add(l2).toDoubleVector(), again.total().toDoubleVector());
            }
        }
    }
}
