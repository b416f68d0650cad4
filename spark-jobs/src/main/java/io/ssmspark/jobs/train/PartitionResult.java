package io.ssmspark.jobs.train;

import java.io.Serializable;

/**
 * What one task returns: its partition index, the number of windows and loss tokens it saw, the double-double
 * sum of their NLL, and (for a training pass) the double-double sum of their gradients, plus its compute time.
 */
public final class PartitionResult implements Serializable {
  private static final long serialVersionUID = 1L;
  public int partition;
  public long windows;
  public long tokens;
  public ScalarSum loss = new ScalarSum();
  public double[] gradientHi;
  public double[] gradientLo;
  public long computeNanos;

  public PartitionResult() {}

  long byteSize() {
    return gradientHi == null ? 64 : 64 + 8L * (gradientHi.length + gradientLo.length);
  }
}
