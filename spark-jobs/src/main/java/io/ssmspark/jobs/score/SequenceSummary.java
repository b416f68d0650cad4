package io.ssmspark.jobs.score;

/**
 * One sequence's totals: its length, the scored positions (length − 1), mean NLL (nats), perplexity and bits per
 * token (mean NLL / ln 2); the means are NaN for a one-token sequence, which has nothing to score.
 */
public record SequenceSummary(String sequenceId, long tokens, long positions, double nllSum) {
    public double meanNll() {
        return positions == 0 ? Double.NaN : nllSum / positions;
    }

    public double perplexity() {
        return Math.exp(meanNll());
    }

    public double bitsPerToken() {
        return meanNll() / Math.log(2);
    }
}
