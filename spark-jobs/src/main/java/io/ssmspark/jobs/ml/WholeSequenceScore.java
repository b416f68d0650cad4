package io.ssmspark.jobs.ml;

import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.LayerwiseWindow;
import java.util.Arrays;

/**
 * One sequence scored whole in one task: the NLL of positions 1..n−1 (natural log) and, per position, the last
 * hidden state (norm_f output) that predicted it. The ids are checked and the model walked exactly as {@code nll}
 * and {@code score} do ({@link HybridLm#requireTokenIds}, {@link LayerwiseWindow}).
 */
record WholeSequenceScore(double[] nll, float[][] embeddings) {

    static WholeSequenceScore of(HybridLm lm, int[] tokens, boolean withEmbeddings) {
        lm.requireTokenIds(tokens, "tokens");
        int n = tokens.length;
        if (n < 2) {
            return new WholeSequenceScore(new double[0], withEmbeddings ? new float[0][] : null);
        }
        LayerwiseWindow.Result r = LayerwiseWindow.score(
                lm, Arrays.copyOfRange(tokens, 0, n - 1), Arrays.copyOfRange(tokens, 1, n), null, withEmbeddings);
        return new WholeSequenceScore(r.nll(), r.hidden());
    }

    /** The mean NLL, NaN when nothing was scored. */
    double mean() {
        return nll.length == 0 ? Double.NaN : Arrays.stream(nll).sum() / nll.length;
    }
}
