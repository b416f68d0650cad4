package io.ssmspark.data.synthetic;

import io.ssmspark.data.Vocabulary;
import java.util.Map;

/**
 * Induction / copy: {@code length} random symbols, a copy marker, then the same symbols again.
 *
 * <p>Ids: symbols {@code 0..alphabet-1}, marker {@code alphabet}, separator {@code alphabet+1}.
 * Defaults: length 64, alphabet 128 (130 ids).
 *
 * <p>Ideal model: accuracy 1.0 on the copied half; loss {@code length * log(alphabet)} nats per
 * document (only the first half is unpredictable), over {@code 2*length + 2} tokens.
 *
 * <p>With the defaults and seed 1 (first 64 documents, separators counted): ideal loss 2.3887 nats/token,
 * unigram loss 4.8531 nats/token.
 */
public final class InductionCopy extends SyntheticCorpus {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "induction-copy";

    private final int length;
    private final int alphabet;
    private final Vocabulary vocabulary;

    InductionCopy(Params p) {
        super(NAME, p);
        length = p.getInt("length", 64, 1, 1 << 20);
        alphabet = p.getInt("alphabet", 128, 2, 254);
        vocabulary = Vocabulary.synthetic(
                NAME,
                alphabet + 2,
                alphabet + 1,
                Map.of("<copy>", alphabet, "<sep>", alphabet + 1),
                "symbols 0.." + (alphabet - 1) + ", copy marker " + alphabet + ", separator " + (alphabet + 1));
    }

    @Override
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    public int length() {
        return length;
    }

    public int alphabet() {
        return alphabet;
    }

    /** The second copy: positions length+1 .. 2*length. */
    @Override
    protected boolean[] answers(int[] tokens) {
        boolean[] answers = new boolean[tokens.length];
        java.util.Arrays.fill(answers, length + 1, tokens.length, true);
        return answers;
    }

    @Override
    protected int[] generateTokens(TrackedRandom rnd) {
        int[] doc = new int[2 * length + 1];
        for (int i = 0; i < length; i++) {
            doc[i] = rnd.uniform(alphabet);
            doc[length + 1 + i] = doc[i];
        }
        doc[length] = alphabet;
        return doc;
    }

    @Override
    protected String idealNote() {
        return "ideal accuracy on the copied half 1.0";
    }

    @Override
    protected String taskDescription() {
        return "Copy: " + length + " random symbols, a marker, the same symbols again.";
    }
}
