package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.model.lm.HybridLm;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The task of one pass over the windows whose rank lies in [firstRank, endRank): for each, in rank order, the
 * forward on tokens[0..T-1] and the NLL of tokens[1..T]; in a training pass also the gradient of the window's
 * NLL sum (scale 1), added to a double-double sum. Each window is its own batch, so a window's contribution does
 * not depend on which other windows share its partition.
 */
final class WindowPass implements Function2<Integer, Iterator<Window>, Iterator<PartitionResult>> {
  private static final long serialVersionUID = 1L;
  private final Broadcast<FlatParameters> parameters;
  private final long firstRank;
  private final long endRank;
  private final boolean gradients;
  private final int step;
  private final FaultInjection fault;

  WindowPass(Broadcast<FlatParameters> parameters, long firstRank, long endRank, boolean gradients, int step,
      FaultInjection fault) {
    this.parameters = parameters;
    this.firstRank = firstRank;
    this.endRank = endRank;
    this.gradients = gradients;
    this.step = step;
    this.fault = fault;
  }

  @Override
  public Iterator<PartitionResult> call(Integer partition, Iterator<Window> windows) {
    TaskSetup.beforeTask();
    if (fault != null && gradients) {
      fault.maybeFail(step, partition);
    }
    long start = System.nanoTime();
    PartitionResult result = new PartitionResult();
    result.partition = partition;
    HybridLm lm = null;
    INDArray gradient = null;
    CompensatedSum sum = null;
    while (windows.hasNext()) {
      Window w = windows.next();
      if (w.rank < firstRank || w.rank >= endRank) {
        continue;
      }
      if (lm == null) {
        lm = ExecutorModels.model(parameters);
        if (gradients) {
          gradient = lm.newGradient();
          sum = new CompensatedSum(gradient.length());
        }
      }
      int length = w.tokens.length - 1;
      int[][] inputs = {java.util.Arrays.copyOfRange(w.tokens, 0, length)};
      int[][] targets = {java.util.Arrays.copyOfRange(w.tokens, 1, length + 1)};
      HybridLm.Forward forward = lm.forward(inputs);
      result.loss.add(lm.nll(forward, targets, null).sum());
      if (gradients) {
        gradient.assign(0);
        lm.backward(forward, targets, null, 1.0, gradient);
        sum.add(gradient);
      }
      result.windows++;
      result.tokens += length;
    }
    if (sum != null) {
      result.gradientHi = sum.hi();
      result.gradientLo = sum.lo();
    }
    result.computeNanos = System.nanoTime() - start;
    return List.of(result).iterator();
  }
}
