package io.ssmspark.jobs.ml;

import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.Mamba2Mixer;
import io.ssmspark.model.tensor.Scratch;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One sequence scored whole in one task: the NLL of positions 1..n−1 (natural log) and, per position, the last
 * hidden state (norm_f output) that predicted it.
 */
record WholeSequenceScore(double[] nll, float[][] embeddings) {

  static WholeSequenceScore of(HybridLm lm, int[] tokens, boolean withEmbeddings) {
    int n = tokens.length;
    int vocab = lm.config().vocabSize();
    for (int i = 0; i < n; i++) {
      if (tokens[i] < 0 || tokens[i] >= vocab) {
        throw new IllegalArgumentException("element " + i + " = " + tokens[i] + " is outside the model's vocabulary [0, "
            + vocab + ")");
      }
    }
    if (n < 2) {
      return new WholeSequenceScore(new double[0], withEmbeddings ? new float[0][] : null);
    }
    return Scratch.call(() -> score(lm, tokens, withEmbeddings)); // frees the row's activations at once
  }

  private static WholeSequenceScore score(HybridLm lm, int[] tokens, boolean withEmbeddings) {
    int n = tokens.length;
    int[] inputs = Arrays.copyOfRange(tokens, 0, n - 1);
    int[] targets = Arrays.copyOfRange(tokens, 1, n);
    int d = lm.config().dModel();
    INDArray stream = lm.embed(inputs);
    for (int i = 0; i < lm.config().nLayer(); i++) {
      INDArray x = lm.normed(i, stream).reshape(1, n - 1, d);
      INDArray out = lm.config().isAttentionLayer(i)
          ? Attention.infer(x, lm.attentionWeights(i), lm.attentionSpec(), 0, null, null).out()
          : Mamba2Mixer.forward(x, lm.mambaWeights(i), lm.mixerSpec(), null).out();
      stream = lm.finishBlock(i, stream, out);
    }
    INDArray normed = lm.finalNormed(stream);
    double[] nll = CrossEntropy.forward(lm.head(normed), targets, null).rowLoss().castTo(DataType.DOUBLE)
        .toDoubleVector();
    float[][] embeddings = withEmbeddings ? normed.castTo(DataType.FLOAT).toFloatMatrix() : null;
    return new WholeSequenceScore(nll, embeddings);
  }

  /** The mean NLL, NaN when nothing was scored. */
  double mean() {
    return nll.length == 0 ? Double.NaN : Arrays.stream(nll).sum() / nll.length;
  }
}
