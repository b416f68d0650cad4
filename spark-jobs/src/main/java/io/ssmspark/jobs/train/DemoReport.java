package io.ssmspark.jobs.train;

import io.ssmspark.data.synthetic.InductionCopy;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * The demo's closing lines: the validation answer accuracy against chance, the loss against the ideal and unigram
 * baselines, and one plain sentence saying what was learned.
 */
final class DemoReport {
    private final InductionCopy corpus;
    private final Trainer.Result result;
    private final int seqLen;

    DemoReport(InductionCopy corpus, Trainer.Result result, int seqLen) {
        this.corpus = corpus;
        this.result = result;
        this.seqLen = seqLen;
    }

    void print(PrintWriter out) {
        double accuracy = result.validationAnswerAccuracy()
                .orElseThrow(() -> new IllegalStateException(
                        "the validation split of " + corpus.name() + " gave no answer positions"));
        double loss = result.validationLoss();
        double ideal = corpus.idealLoss();
        double unigram = corpus.unigramLoss();
        int symbols = corpus.alphabet();
        out.printf(Locale.ROOT, "%s%n", corpus.describe());
        out.printf(
                Locale.ROOT,
                "after %d steps, validation split (%d windows of %d tokens):%n",
                result.steps(),
                result.validationWindows(),
                seqLen);
        out.printf(Locale.ROOT, "  answer accuracy %.4f (chance 1/%d = %.4f)%n", accuracy, symbols, 1.0 / symbols);
        out.printf(Locale.ROOT, "  model loss      %.4f nats/token (perplexity %.2f)%n", loss, Math.exp(loss));
        out.printf(Locale.ROOT, "  ideal loss      %.4f nats/token (the generator itself)%n", ideal);
        out.printf(Locale.ROOT, "  unigram loss    %.4f nats/token (counting tokens)%n", unigram);
        // each copied symbol is predictable only from the first half, seen once: no count of tokens predicts it
        out.printf(
                Locale.ROOT,
                "The model writes the right symbol at %.0f%% of the positions of the copy (chance: 1/%d):"
                        + " it learned to copy a sequence it has seen once. Its loss, %.2f nats/token, is %.2f above the ideal %.2f"
                        + " and %s the unigram baseline %.2f.%n",
                100 * accuracy,
                symbols,
                loss,
                loss - ideal,
                ideal,
                relation(loss, unigram),
                unigram);
    }

    /** "0.20 below" or "0.20 above": where {@code loss} lies against {@code baseline}, in words. */
    static String relation(double loss, double baseline) {
        return String.format(Locale.ROOT, "%.2f %s", Math.abs(loss - baseline), loss <= baseline ? "below" : "above");
    }
}
