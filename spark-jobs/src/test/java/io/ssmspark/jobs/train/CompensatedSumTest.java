package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
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
    for (int[] order : List.of(new int[] {0, 1, 2, 3}, new int[] {1, 3, 0, 2}, new int[] {0, 2, 1, 3},
        new int[] {3, 2, 1, 0})) {
      double[] total = sumInOrder(order);
      assertEquals(2.0, total[0], 0.0);
      assertEquals(0.75, total[1], 0.0);
    }
    // Plain double addition in the first order loses both ones: the reason this class exists.
    assertNotEquals(2.0, ((1e16 + 1) - 1e16) + 1);
  }

  @Test
  void addingPartialSumsInAnyGroupingIsExact() {
    CompensatedSum left = new CompensatedSum(2);
    left.add(Nd4j.createFromArray(TERMS[0]));
    left.add(Nd4j.createFromArray(TERMS[1]));
    CompensatedSum right = CompensatedSum.of(new double[] {0, 0}, new double[] {0, 0});
    right.add(Nd4j.createFromArray(TERMS[2]));
    right.add(Nd4j.createFromArray(TERMS[3]));
    right.add(left);
    assertEquals(2.0, right.total().getDouble(0), 0.0);
    assertEquals(0.75, right.total().getDouble(1), 0.0);
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
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new CompensatedSum(3).add(Nd4j.zeros(DataType.DOUBLE, 2)));
    assertEquals("compensated sum: expected a term of 3 entries but found 2", e.getMessage());
  }
}
