package io.ssmspark.data.synthetic;

import io.ssmspark.data.Vocabulary;
import java.io.Serializable;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A seeded, deterministic synthetic corpus: document {@code i} depends only on (name, parameters,
 * seed, i), so any machine and any partitioning produce the same documents. Every corpus has the
 * common parameters {@code documents} and {@code seed}; each subclass documents its own.
 *
 * <p>Loss figures are per token in nats, counting the separator that follows each document in the
 * training stream (documents have a fixed length, so an ideal model predicts it for free).
 */
public abstract class SyntheticCorpus implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Documents used to estimate the figures in {@link #describe()}. */
    public static final int DESCRIBE_SAMPLE = 64;

    private final String name;
    private final long documents;
    private final long seed;

    protected SyntheticCorpus(String name, Params params) {
        this.name = name;
        this.documents = params.getLong("documents", 1000, 1, 1L << 40);
        this.seed = params.getLong("seed", 1, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    public final String name() {
        return name;
    }

    public final long documentCount() {
        return documents;
    }

    public final long seed() {
        return seed;
    }

    public abstract Vocabulary vocabulary();

    /** Generates document {@code index} (0 based) with its exact negative log probability. */
    public final SyntheticDocument generate(long index) {
        if (index < 0 || index >= documents) {
            throw new IndexOutOfBoundsException(
                    "document " + index + " of synthetic:" + name + " with " + documents + " documents");
        }
        TrackedRandom rnd = TrackedRandom.forDocument(seed, index);
        int[] tokens = generateTokens(rnd);
        return new SyntheticDocument(name + "-" + index, tokens, negLogLikelihood(tokens, rnd), answers(tokens));
    }

    protected abstract int[] generateTokens(TrackedRandom rnd);

    /**
     * Which tokens of a document are answers (see {@link SyntheticDocument#answers}), or null when the
     * task defines none; the default.
     */
    protected boolean[] answers(int[] tokens) {
        return null;
    }

    /** Whether the documents carry answer positions, so an answer accuracy can be measured. */
    public final boolean hasAnswers() {
        return generate(0).answers != null;
    }

    /**
     * {@code -log p(tokens)} under the generator. The default is the tracked sum of the draws, exact
     * when the draws can be read back from the tokens; a generator with hidden state overrides it.
     */
    protected double negLogLikelihood(int[] tokens, TrackedRandom rnd) {
        return rnd.negLogProb();
    }

    /** What an ideal model achieves beyond the loss (e.g. accuracy on answer positions), or "". */
    protected abstract String idealNote();

    /** A one-paragraph description of the task and its parameters. */
    protected abstract String taskDescription();

    /** All documents, generated on demand, for single-process use. */
    public final List<int[]> documents() {
        if (documents > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "synthetic:" + name + " has " + documents + " documents, too many for a List; use iterator()");
        }
        return new AbstractList<>() {
            @Override
            public int[] get(int i) {
                return generate(i).tokens;
            }

            @Override
            public int size() {
                return (int) documents;
            }
        };
    }

    public final Iterator<SyntheticDocument> iterator() {
        return new Iterator<>() {
            private long next;

            @Override
            public boolean hasNext() {
                return next < documents;
            }

            @Override
            public SyntheticDocument next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return generate(next++);
            }
        };
    }

    private List<SyntheticDocument> sample() {
        List<SyntheticDocument> out = new ArrayList<>();
        for (long i = 0; i < Math.min(DESCRIBE_SAMPLE, documents); i++) {
            out.add(generate(i));
        }
        return out;
    }

    /** Loss of the ideal model (the generator itself), nats per token, over the first 64 documents. */
    public final double idealLoss() {
        double nats = 0;
        long tokens = 0;
        for (SyntheticDocument d : sample()) {
            nats += d.negLogProb;
            tokens += d.tokens.length + 1;
        }
        return nats / tokens;
    }

    /**
     * Loss of the best unigram model (the entropy of the token frequencies, separator included),
     * nats per token, over the first 64 documents.
     */
    public final double unigramLoss() {
        long[] counts = new long[vocabulary().size()];
        long total = 0;
        for (SyntheticDocument d : sample()) {
            for (int t : d.tokens) {
                counts[t]++;
            }
            counts[vocabulary().separatorId()]++;
            total += d.tokens.length + 1;
        }
        double h = 0;
        for (long c : counts) {
            if (c > 0) {
                double p = (double) c / total;
                h -= p * Math.log(p);
            }
        }
        return h;
    }

    /** The task, its vocabulary, and the ideal and unigram losses (nats per token). */
    public final String describe() {
        String note = idealNote();
        return String.format(
                java.util.Locale.ROOT,
                "synthetic:%s (%d documents, seed %d): %s Vocabulary: %d ids, separator %d. "
                        + "Ideal loss %.4f nats/token; unigram loss %.4f nats/token%s.",
                name,
                documents,
                seed,
                taskDescription(),
                vocabulary().size(),
                vocabulary().separatorId(),
                idealLoss(),
                unigramLoss(),
                note.isEmpty() ? "" : "; " + note);
    }
}
