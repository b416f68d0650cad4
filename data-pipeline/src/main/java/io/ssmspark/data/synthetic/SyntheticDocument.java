package io.ssmspark.data.synthetic;

/**
 * One generated document, with {@code -log p(tokens)} under its generator, in nats, and its answer
 * positions: {@code answers[t]} is true when token t is an answer (determined by the tokens before it,
 * so an ideal model predicts it with certainty). {@code answers} is null for tasks without answers.
 */
public final class SyntheticDocument {
    public final String id;
    public final int[] tokens;
    public final double negLogProb;
    public final boolean[] answers;

    public SyntheticDocument(String id, int[] tokens, double negLogProb, boolean[] answers) {
        if (answers != null && answers.length != tokens.length) {
            throw new IllegalArgumentException(
                    id + ": " + answers.length + " answer flags for " + tokens.length + " tokens");
        }
        this.id = id;
        this.tokens = tokens;
        this.negLogProb = negLogProb;
        this.answers = answers;
    }

    /** The answer positions in increasing order (empty when there are none). */
    public int[] answerPositions() {
        if (answers == null) {
            return new int[0];
        }
        return java.util.stream.IntStream.range(0, answers.length)
                .filter(t -> answers[t])
                .toArray();
    }
}
