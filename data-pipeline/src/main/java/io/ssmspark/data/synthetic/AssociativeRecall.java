package io.ssmspark.data.synthetic;

import io.ssmspark.data.Vocabulary;
import java.util.Map;

/**
 * Multi-query associative recall. A document lists {@code pairs} key-value pairs (distinct keys,
 * values drawn independently), then asks {@code queries} distinct keys among them, each followed by
 * its value: {@code k1 v1 ... kP vP q1 a1 ... qQ aQ}.
 *
 * <p>Ids: keys {@code 0..keys-1}, values {@code keys..keys+values-1}, separator {@code keys+values}.
 * Defaults: pairs 8, queries 8, keys 64, values 64 (129 ids).
 *
 * <p>Ideal model: accuracy 1.0 on the answer positions (each answer was stated earlier); its loss
 * per document is exactly {@code sum_{i<P} log(keys-i) + P log(values) + sum_{j<Q} log(P-j)} nats
 * (answers cost nothing), divided by {@code 2P + 2Q + 1} tokens.
 *
 * <p>With the defaults and seed 1 (first 64 documents, separators counted): ideal loss 2.3240 nats/token,
 * unigram loss 4.7831 nats/token.
 */
public final class AssociativeRecall extends SyntheticCorpus {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "associative-recall";

    private final int pairs;
    private final int queries;
    private final int keys;
    private final int values;
    private final Vocabulary vocabulary;

    AssociativeRecall(Params p) {
        super(NAME, p);
        keys = p.getInt("keys", 64, 2, 200);
        values = p.getInt("values", 64, 2, 200);
        pairs = p.getInt("pairs", 8, 1, keys);
        queries = p.getInt("queries", pairs, 1, pairs);
        if (keys + values + 1 > 256) {
            throw new IllegalArgumentException(
                    "synthetic:" + NAME + ": keys + values + 1 = " + (keys + values + 1) + " ids; at most 256 fit");
        }
        vocabulary = Vocabulary.synthetic(
                NAME,
                keys + values + 1,
                keys + values,
                Map.of("<sep>", keys + values),
                "keys 0.." + (keys - 1) + ", values " + keys + ".." + (keys + values - 1) + ", separator "
                        + (keys + values));
    }

    @Override
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    public int pairs() {
        return pairs;
    }

    public int queries() {
        return queries;
    }

    public int values() {
        return values;
    }

    /** The exact ideal loss per document, in nats (see the class comment). */
    public double idealDocumentNats() {
        double nats = pairs * Math.log(values);
        for (int i = 0; i < pairs; i++) {
            nats += Math.log(keys - i);
        }
        for (int j = 0; j < queries; j++) {
            nats += Math.log(pairs - j);
        }
        return nats;
    }

    /** Whether position {@code t} of a document holds an answer (the value after a query key). */
    public boolean isAnswerPosition(int t) {
        return t >= 2 * pairs && (t - 2 * pairs) % 2 == 1;
    }

    /** The queried values: every position {@link #isAnswerPosition}. */
    @Override
    protected boolean[] answers(int[] tokens) {
        boolean[] answers = new boolean[tokens.length];
        for (int t = 0; t < tokens.length; t++) {
            answers[t] = isAnswerPosition(t);
        }
        return answers;
    }

    @Override
    protected int[] generateTokens(TrackedRandom rnd) {
        int[] keyPool = new int[keys];
        for (int i = 0; i < keys; i++) {
            keyPool[i] = i;
        }
        int[] pairKeys = new int[pairs];
        int[] pairValues = new int[pairs];
        int[] doc = new int[2 * pairs + 2 * queries];
        for (int i = 0; i < pairs; i++) {
            int j = i + rnd.uniform(keys - i); // partial Fisher-Yates: distinct keys
            int tmp = keyPool[i];
            keyPool[i] = keyPool[j];
            keyPool[j] = tmp;
            pairKeys[i] = keyPool[i];
            pairValues[i] = keys + rnd.uniform(values);
            doc[2 * i] = pairKeys[i];
            doc[2 * i + 1] = pairValues[i];
        }
        int[] order = new int[pairs];
        for (int i = 0; i < pairs; i++) {
            order[i] = i;
        }
        for (int q = 0; q < queries; q++) {
            int j = q + rnd.uniform(pairs - q);
            int tmp = order[q];
            order[q] = order[j];
            order[j] = tmp;
            doc[2 * pairs + 2 * q] = pairKeys[order[q]];
            doc[2 * pairs + 2 * q + 1] = pairValues[order[q]];
        }
        return doc;
    }

    @Override
    protected String idealNote() {
        return "ideal accuracy on answer positions 1.0";
    }

    @Override
    protected String taskDescription() {
        return "Multi-query associative recall: " + pairs + " key-value pairs, then " + queries
                + " distinct queried keys each followed by its value.";
    }
}
