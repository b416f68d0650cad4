package io.ssmspark.data.synthetic;

import io.ssmspark.data.Vocabulary;

/**
 * Synthetic genome: a hidden Markov model over DNA ({@link Vocabulary#dna()}, 6 ids). Two
 * background states, AT-rich (A, T 0.35 each; C, G 0.15) and GC-rich (the reverse), switch with
 * probability {@code switch}. From either background, with probability {@code motif-rate} the
 * chain enters one of {@code motifs} planted motifs (uniformly), each {@code motif-length} letters
 * drawn once from the corpus seed; inside a motif each letter is copied, or with probability
 * {@code mutation} replaced by one of the other three. After a motif the chain returns to either
 * background with probability 1/2.
 *
 * <p>Defaults: length 2048, motifs 8, motif-length 12, motif-rate 0.02, switch 0.005, mutation 0.02.
 *
 * <p>Ideal model: the generator's own predictive distribution, computed exactly by the forward
 * algorithm ({@link #negLogLikelihood}); the letter distribution alone gives the unigram loss
 * (about log 4). The gap is what a model can learn: the background state and the motifs.
 *
 * <p>With the defaults and seed 1 (first 64 documents, separators counted): ideal loss 1.2119 nats/token,
 * unigram loss 1.3895 nats/token.
 */
public final class GenomeHmm extends SyntheticCorpus {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "genome";

    private static final double[] AT_RICH = {0.35, 0.15, 0.15, 0.35};
    private static final double[] GC_RICH = {0.15, 0.35, 0.35, 0.15};

    private final int length;
    private final int motifs;
    private final int motifLength;
    private final double motifRate;
    private final double switchRate;
    private final double mutation;
    private final int[][] motifLetters;

    GenomeHmm(Params p) {
        super(NAME, p);
        length = p.getInt("length", 2048, 1, 1 << 24);
        motifs = p.getInt("motifs", 8, 1, 256);
        motifLength = p.getInt("motif-length", 12, 1, 1024);
        motifRate = p.getDouble("motif-rate", 0.02, 0.0, 0.5);
        switchRate = p.getDouble("switch", 0.005, 0.0, 0.5);
        mutation = p.getDouble("mutation", 0.02, 0.0, 0.75);
        TrackedRandom motifRnd = new TrackedRandom(io.ssmspark.data.Hashing.mix64(seed() ^ 0x6d6f74696673L));
        motifLetters = new int[motifs][motifLength];
        for (int m = 0; m < motifs; m++) {
            for (int k = 0; k < motifLength; k++) {
                motifLetters[m][k] = motifRnd.untrackedUniform(4);
            }
        }
    }

    @Override
    public Vocabulary vocabulary() {
        return Vocabulary.dna();
    }

    /** The planted motifs as letters. */
    public String[] motifs() {
        String[] out = new String[motifs];
        for (int m = 0; m < motifs; m++) {
            out[m] = io.ssmspark.data.DnaTokenizer.decode(motifLetters[m]);
        }
        return out;
    }

    private double emission(int state, int letter) {
        if (state < 2) {
            return (state == 0 ? AT_RICH : GC_RICH)[letter];
        }
        int m = (state - 2) / motifLength;
        int k = (state - 2) % motifLength;
        return letter == motifLetters[m][k] ? 1 - mutation : mutation / 3;
    }

    @Override
    protected int[] generateTokens(TrackedRandom rnd) {
        int[] doc = new int[length];
        int state = rnd.untrackedUniform(2);
        for (int t = 0; t < length; t++) {
            double u = rnd.nextDouble();
            int letter = 3;
            double acc = 0;
            for (int a = 0; a < 4; a++) {
                acc += emission(state, a);
                if (u < acc) {
                    letter = a;
                    break;
                }
            }
            doc[t] = letter;
            state = nextState(state, rnd);
        }
        return doc;
    }

    private int nextState(int state, TrackedRandom rnd) {
        if (state >= 2) {
            int k = (state - 2) % motifLength;
            return k + 1 < motifLength ? state + 1 : rnd.untrackedUniform(2);
        }
        double u = rnd.nextDouble();
        if (u < motifRate) {
            return 2 + rnd.untrackedUniform(motifs) * motifLength;
        }
        if (u < motifRate + switchRate) {
            return 1 - state;
        }
        return state;
    }

    /**
     * {@code -log p(tokens)} by the forward algorithm with per-step normalisation: alpha is the
     * filtered state distribution, and the normaliser at step t is p(x_t | x_<t).
     */
    @Override
    protected double negLogLikelihood(int[] tokens, TrackedRandom rnd) {
        int states = 2 + motifs * motifLength;
        double[] alpha = new double[states];
        double[] next = new double[states];
        alpha[0] = 0.5;
        alpha[1] = 0.5;
        double nll = 0;
        for (int t = 0; t < tokens.length; t++) {
            double norm = 0;
            for (int s = 0; s < states; s++) {
                alpha[s] *= emission(s, tokens[t]);
                norm += alpha[s];
            }
            nll -= Math.log(norm);
            // Transition: background stay/switch/enter motif; motif advance; motif end -> either background.
            double stay = 1 - motifRate - switchRate;
            double motifEnd = 0;
            for (int m = 0; m < motifs; m++) {
                motifEnd += alpha[2 + m * motifLength + motifLength - 1];
            }
            java.util.Arrays.fill(next, 0);
            next[0] = alpha[0] * stay + alpha[1] * switchRate + motifEnd * 0.5;
            next[1] = alpha[1] * stay + alpha[0] * switchRate + motifEnd * 0.5;
            double enter = (alpha[0] + alpha[1]) * motifRate / motifs;
            for (int m = 0; m < motifs; m++) {
                int base = 2 + m * motifLength;
                next[base] += enter;
                for (int k = 0; k + 1 < motifLength; k++) {
                    next[base + k + 1] += alpha[base + k];
                }
            }
            for (int s = 0; s < states; s++) {
                alpha[s] = next[s] / norm;
            }
        }
        return nll;
    }

    @Override
    protected String idealNote() {
        return "no ideal accuracy is defined; the ideal loss is the forward-algorithm NLL of the generating HMM";
    }

    @Override
    protected String taskDescription() {
        return "DNA from a 2-state (AT-rich / GC-rich) HMM with " + motifs + " planted motifs of length " + motifLength
                + ", " + length + " bases per document.";
    }
}
