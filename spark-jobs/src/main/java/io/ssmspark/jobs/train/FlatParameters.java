package io.ssmspark.jobs.train;

import java.io.Serializable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The model's parameters as they travel to executors in a broadcast: a plain float[] or double[] plus the model
 * config as JSON, never an INDArray (Spark closes AutoCloseable broadcast values, which would free ND4J's buffer;
 * DESIGN.md, "Never broadcast an INDArray through Spark").
 */
public final class FlatParameters implements Serializable {
  private static final long serialVersionUID = 1L;
  public String configJson;
  public float[] floats;
  public double[] doubles;

  public FlatParameters() {}

  public static FlatParameters of(String configJson, INDArray parameters) {
    FlatParameters p = new FlatParameters();
    p.configJson = configJson;
    if (parameters.dataType() == DataType.DOUBLE) {
      p.doubles = parameters.toDoubleVector();
    } else {
      p.floats = parameters.toFloatVector();
    }
    return p;
  }

  /** A fresh INDArray holding a copy of the values. */
  public INDArray toArray() {
    return doubles != null ? Nd4j.createFromArray(doubles) : Nd4j.createFromArray(floats);
  }

  public long byteSize() {
    return doubles != null ? 8L * doubles.length : 4L * floats.length;
  }
}
