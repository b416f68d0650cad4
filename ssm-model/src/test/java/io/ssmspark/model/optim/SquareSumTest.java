package io.ssmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class SquareSumTest {
    private static INDArray random(DataType type, int n, long seed) {
        Random r = new Random(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4); // seven decades of magnitude
        }
        return Nd4j.createFromArray(x).castTo(type);
    }

    private static SquareSum ofPieces(INDArray v, long... cuts) {
        SquareSum sum = SquareSum.ZERO;
        long from = 0;
        for (int i = 0; i <= cuts.length; i++) {
            long to = i < cuts.length ? cuts[i] : v.length();
            sum = sum.plus(SquareSum.of(v.get(NDArrayIndex.interval(from, to))));
            from = to;
        }
        return sum;
    }

    @Test
    void piecesInAnyCutRoundToTheWholeVectorsSum() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            INDArray v = random(type, 200_003, 7);
            double whole = SquareSum.of(v).value();
            assertEquals(whole, ofPieces(v, 1).value(), 0.0, type + " cut at 1");
            assertEquals(whole, ofPieces(v, 65_536, 65_537, 150_000).value(), 0.0, type + " three cuts");
            assertEquals(whole, ofPieces(v, 3, 70_000, 70_001, 199_999, 200_000).value(), 0.0, type + " five cuts");
        }
    }

    @Test
    void equalsTheExactSumRoundedOnce() {
        INDArray v = random(DataType.DOUBLE, 5_000, 11);
        BigDecimal exact = BigDecimal.ZERO;
        for (double x : v.toDoubleVector()) {
            BigDecimal b = new BigDecimal(x);
            exact = exact.add(b.multiply(b));
        }
        assertEquals(
                exact.round(MathContext.DECIMAL64).doubleValue(),
                SquareSum.of(v).value(),
                0.0);
    }

    @Test
    void overflowIsInfiniteNotNaN() {
        INDArray v = Nd4j.createFromArray(1e200, 1.0, -1e200);
        assertTrue(Double.isInfinite(SquareSum.of(v).value()));
        assertTrue(
                Double.isNaN(SquareSum.of(Nd4j.createFromArray(1.0, Double.NaN)).value()));
    }
}
