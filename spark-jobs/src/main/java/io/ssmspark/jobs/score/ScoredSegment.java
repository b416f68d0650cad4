package io.ssmspark.jobs.score;

import java.io.Serializable;

/**
 * A segment's scores: input j predicts the token at position start + j + 1, so position p = start + j + 1 holds
 * token {@code targets[j]} with natural-log NLL {@code nll[j]}; optionally the last hidden state that made the
 * prediction (norm_f output, d values per position) and the top-k predicted ids, best first.
 */
public final class ScoredSegment implements Serializable {
    private static final long serialVersionUID = 1L;

    public String sequenceId;
    public int ordinal;
    public long start;
    public int[] targets;
    public double[] nll;
    public int embeddingDim;
    public float[] embeddings;
    public int topK;
    public int[] topIds;

    public ScoredSegment() {}

    public double nllSum() {
        double s = 0;
        for (double v : nll) {
            s += v;
        }
        return s;
    }
}
