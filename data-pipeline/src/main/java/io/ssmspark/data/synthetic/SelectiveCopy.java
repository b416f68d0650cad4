package io.ssmspark.data.synthetic;

import io.ssmspark.data.Vocabulary;
import java.util.Map;

/**
 * Selective copy: a region of {@code length} positions, {@code count} of them (a uniformly chosen
 * subset) holding random data symbols and the rest a blank; then a marker, then the data symbols
 * in order.
 *
 * <p>Ids: data {@code 0..alphabet-1}, blank {@code alphabet}, marker {@code alphabet+1}, separator
 * {@code alphabet+2}. Defaults: length 64, count 8, alphabet 64 (67 ids).
 *
 * <p>Ideal model: accuracy 1.0 on the recalled symbols; loss {@code log C(length, count) + count *
 * log(alphabet)} nats per document, over {@code length + count + 2} tokens.
 *
 * <p>With the defaults and seed 1 (first 64 documents, separators counted): ideal loss 0.7498 nats/token,
 * unigram loss 1.5439 nats/token.
 */
public final class SelectiveCopy extends SyntheticCorpus {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "selective-copy";

    private final int length;
    private final int count;
    private final int alphabet;
    private final Vocabulary vocabulary;

    SelectiveCopy(Params p) {
        super(NAME, p);
        length = p.getInt("length", 64, 1, 1 << 20);
        count = p.getInt("count", Math.min(8, length), 1, length);
        alphabet = p.getInt("alphabet", 64, 1, 253);
        vocabulary = Vocabulary.synthetic(
                NAME,
                alphabet + 3,
                alphabet + 2,
                Map.of("<blank>", alphabet, "<recall>", alphabet + 1, "<sep>", alphabet + 2),
                "data 0.." + (alphabet - 1) + ", blank " + alphabet + ", recall marker " + (alphabet + 1)
                        + ", separator " + (alphabet + 2));
    }

    @Override
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /** log C(length, count) + count log(alphabet): the exact ideal loss per document, in nats. */
    public double idealDocumentNats() {
        double logChoose = 0;
        for (int i = 0; i < count; i++) {
            logChoose += Math.log(length - i) - Math.log(i + 1);
        }
        return logChoose + count * Math.log(alphabet);
    }

    /** The recalled symbols after the marker: positions length+1 .. length+count. */
    @Override
    protected boolean[] answers(int[] tokens) {
        boolean[] answers = new boolean[tokens.length];
        java.util.Arrays.fill(answers, length + 1, tokens.length, true);
        return answers;
    }

    @Override
    protected int[] generateTokens(TrackedRandom rnd) {
        int[] doc = new int[length + 1 + count];
        java.util.Arrays.fill(doc, 0, length, alphabet);
        // Choose the data positions with Floyd's algorithm, accounting for the subset's probability
        // 1 / C(length, count) once (the order of the draws is not visible in the document).
        java.util.TreeSet<Integer> positions = new java.util.TreeSet<>();
        for (int j = length - count; j < length; j++) {
            int t = rnd.untrackedUniform(j + 1);
            positions.add(positions.contains(t) ? j : t);
        }
        double logChoose = 0;
        for (int i = 0; i < count; i++) {
            logChoose += Math.log(length - i) - Math.log(i + 1);
        }
        rnd.addNegLogProb(logChoose);
        doc[length] = alphabet + 1;
        int k = 0;
        for (int pos : positions) {
            int symbol = rnd.uniform(alphabet);
            doc[pos] = symbol;
            doc[length + 1 + k++] = symbol;
        }
        return doc;
    }

    @Override
    protected String idealNote() {
        return "ideal accuracy on the recalled symbols 1.0";
    }

    @Override
    protected String taskDescription() {
        return "Selective copy: " + count + " data symbols at random among " + length
                + " positions (the rest blank), a marker, then the data symbols in order.";
    }
}
