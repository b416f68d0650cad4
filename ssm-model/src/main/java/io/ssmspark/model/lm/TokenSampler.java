package io.ssmspark.model.lm;

import java.util.Arrays;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Picks the next token from one row of logits, over the real vocabulary [0, vocab_size) (padded ids are never
 * picked): greedy (the lowest id of the maximum) when the temperature is 0, otherwise a draw from
 * softmax(logits / temperature) restricted to the top-k logits (k = 0: all). Draws come from a
 * {@link java.util.Random} seeded once, so a seed gives the same tokens on every run.
 */
public final class TokenSampler {
    private final double temperature;
    private final int topK;
    private final Random random;

    public TokenSampler(double temperature, int topK, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature: expected a finite value >= 0 but found " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k: expected 0 (all tokens) or a positive count but found " + topK);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.random = new Random(seed);
    }

    /** The next token from {@code logits} ([V] or [1, V], V ≥ vocabSize), among ids below {@code vocabSize}. */
    public int next(INDArray logits, int vocabSize) {
        if (logits == null
                || logits.length() < vocabSize
                || (logits.rank() == 2 && logits.size(0) != 1)
                || logits.rank() > 2) {
            throw new IllegalArgumentException("sampler logits: expected one row of at least " + vocabSize
                    + " entries but found " + (logits == null ? "null" : Arrays.toString(logits.shape())));
        }
        if (vocabSize < 1) {
            throw new IllegalArgumentException("sampler vocabulary size: expected >= 1 but found " + vocabSize);
        }
        double[] row = Arrays.copyOf(logits.castTo(DataType.DOUBLE).ravel().toDoubleVector(), vocabSize);
        if (temperature == 0) {
            return argmax(row);
        }
        Integer[] order = new Integer[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> row[a] != row[b] ? Double.compare(row[b], row[a]) : Integer.compare(a, b));
        int kept = topK == 0 ? vocabSize : Math.min(topK, vocabSize);
        double max = row[order[0]];
        double[] weights = new double[kept];
        double total = 0;
        for (int i = 0; i < kept; i++) {
            weights[i] = Math.exp((row[order[i]] - max) / temperature);
            total += weights[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < kept; i++) {
            u -= weights[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[kept - 1]; // u landed on total through rounding
    }

    static int argmax(double[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }
}
