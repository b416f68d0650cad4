package io.ssmspark.jobs.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A vector sum kept as an unevaluated pair hi + lo of doubles (double-double), so the total carries about 106 bits
 * and the order in which terms are added changes it only below about 1e-30 relative. That is what makes a
 * gradient summed over 1, 2, 3 or 4 partitions, in whatever grouping, round to the same double (and float).
 *
 * <p>Each term goes through Knuth's TwoSum: s = hi + x, b = s - hi, err = (hi - (s - b)) + (x - b) is exactly
 * (hi + x) - s, then hi = s and lo += err. All in batched ND4J element-wise ops into preallocated buffers.
 */
public final class CompensatedSum {
  private INDArray hi;
  private final INDArray lo;
  private INDArray s;
  private final INDArray b;
  private final INDArray err;
  private final INDArray term;

  public CompensatedSum(long length) {
    hi = Nd4j.zeros(DataType.DOUBLE, length);
    lo = Nd4j.zeros(DataType.DOUBLE, length);
    s = Nd4j.zeros(DataType.DOUBLE, length);
    b = Nd4j.zeros(DataType.DOUBLE, length);
    err = Nd4j.zeros(DataType.DOUBLE, length);
    term = Nd4j.zeros(DataType.DOUBLE, length);
  }

  /** A sum holding hi + lo (both copied). */
  public static CompensatedSum of(double[] hi, double[] lo) {
    if (hi.length != lo.length) {
      throw new IllegalArgumentException("compensated sum: hi has " + hi.length + " entries but lo has " + lo.length);
    }
    CompensatedSum sum = new CompensatedSum(hi.length);
    sum.hi.assign(Nd4j.createFromArray(hi));
    sum.lo.assign(Nd4j.createFromArray(lo));
    return sum;
  }

  public long length() {
    return hi.length();
  }

  /** Adds {@code x} (FLOAT or DOUBLE; a FLOAT is widened exactly). */
  public void add(INDArray x) {
    if (x.length() != hi.length()) {
      throw new IllegalArgumentException("compensated sum: expected a term of " + hi.length() + " entries but found "
          + x.length());
    }
    INDArray t = x;
    if (x.dataType() != DataType.DOUBLE) {
      term.assign(x);
      t = term;
    }
    Nd4j.exec(new AddOp(hi, t, s));      // s = hi + x
    Nd4j.exec(new SubOp(s, hi, b));      // b = s - hi
    Nd4j.exec(new SubOp(s, b, err));     // err = s - b
    Nd4j.exec(new SubOp(hi, err, err));  // err = hi - (s - b)
    Nd4j.exec(new SubOp(t, b, b));       // b = x - b
    err.addi(b);                         // err = exact (hi + x) - s
    lo.addi(err);
    INDArray old = hi;
    hi = s;
    s = old;
  }

  /** Adds another compensated sum (its hi exactly, then its lo). */
  public void add(CompensatedSum other) {
    add(other.hi);
    lo.addi(other.lo);
  }

  /** hi + lo rounded to one double per entry. */
  public INDArray total() {
    return hi.add(lo);
  }

  public double[] hi() {
    return hi.toDoubleVector();
  }

  public double[] lo() {
    return lo.toDoubleVector();
  }
}
