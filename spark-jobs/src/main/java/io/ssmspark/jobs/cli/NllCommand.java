package io.ssmspark.jobs.cli;

import io.ssmspark.data.TextTokenizer;
import io.ssmspark.jobs.nll.Int32TokenFile;
import io.ssmspark.jobs.spark.Interruption;
import io.ssmspark.jobs.spark.Precision;
import io.ssmspark.jobs.spark.Progress;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.LoadedCheckpoint;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.SequenceScorer;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark nll}: the per-token NLL of one token file under a checkpoint, in one process (no Spark). The
 * sequence is scored in windows that carry the model's state, so memory stays bounded and the result equals
 * scoring the whole sequence at once.
 */
@Command(
        name = "nll",
        mixinStandardHelpOptions = true,
        description = {
            "Per-token negative log-likelihood (natural log) of a token file under a checkpoint.",
            "Writes a CSV 'position,nll' with one row per position i >= 1 (token i given tokens 0..i-1),",
            "and prints the mean NLL and the perplexity."
        })
public final class NllCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(NllCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Checkpoint directory (config.json + model.safetensors).")
    Path model;

    @Option(
            names = "--tokens",
            paramLabel = "FILE",
            description = "Raw little-endian int32 token ids (or --text with --tokenizer).")
    Path tokens;

    @Option(
            names = "--text",
            paramLabel = "FILE",
            description = "A UTF-8 text file, encoded by --tokenizer (instead of --tokens).")
    Path text;

    @Option(
            names = "--tokenizer",
            paramLabel = "PATH",
            description = "Hugging Face tokenizer.json (or a model directory holding one) that encodes --text.")
    Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "FILE.csv", description = "Output CSV.")
    Path out;

    @Option(
            names = "--dtype",
            defaultValue = "float32",
            paramLabel = "float32|float64",
            description = "Compute precision (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(
            names = "--window",
            defaultValue = "16384",
            paramLabel = "N",
            description =
                    "Tokens per forward window; state carries across windows (default: ${DEFAULT-VALUE}, the fastest"
                            + " of 4K-32K for the bench model, about 0.7 GB of working memory for it).")
    int window;

    private long progressNanos;

    @Override
    public Integer call() throws IOException {
        DataType type = dataType(dtype);
        if (window < 1) {
            throw new IllegalArgumentException("--window: expected at least 1 token but found " + window);
        }
        progressNanos = Progress.intervalNanos(System.getProperty(Progress.INTERVAL_PROPERTY));
        if ((tokens == null) == (text == null)) {
            throw new IllegalArgumentException("give exactly one of --tokens FILE and --text FILE");
        }
        Path tokenizerFile = text == null ? tokenizer : ModelTokenizer.resolve(tokenizer, model);
        if ((text == null) != (tokenizerFile == null)) {
            throw new IllegalArgumentException(
                    text == null
                            ? "--tokenizer: encodes --text, but --tokens was given"
                            : "--text: needs --tokenizer (the model directory " + model + " has no "
                                    + TextTokenizer.FILE_NAME + ")");
        }
        LoadedCheckpoint checkpoint = Checkpoint.load(model, type);
        SequenceScorer.TokenSource source;
        Path input = tokens;
        Int32TokenFile file = null;
        if (text != null) {
            TextTokenizer tok = TextTokenizer.load(tokenizerFile);
            tok.requireFitsModel(checkpoint.config().vocabSize());
            source = new Encoded(tok.encode(Files.readString(text, StandardCharsets.UTF_8)));
            input = text;
        } else {
            file = Int32TokenFile.open(tokens, checkpoint.config().vocabSize());
            source = file;
        }
        HybridLm lm = new HybridLm(checkpoint.config(), checkpoint.flatParameters(type));
        SequenceScorer.Summary summary;
        try {
            if (source.length() < 2) {
                throw new IllegalArgumentException(input + ": holds " + source.length()
                        + " token; scoring needs at least 2 (position i >= 1 is scored given tokens 0..i-1)");
            }
            summary = writeCsv(lm, source);
        } finally {
            if (file != null) {
                file.close();
            }
        }
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf(Locale.ROOT, "positions: %d%n", summary.positions());
        stdout.printf(Locale.ROOT, "mean NLL: %.6f nats/token%n", summary.meanNll());
        stdout.printf(Locale.ROOT, "perplexity: %.6f%n", summary.perplexity());
        stdout.flush();
        return 0;
    }

    /** Writes the CSV under a temporary name beside {@code out}, then renames it into place. */
    private SequenceScorer.Summary writeCsv(HybridLm lm, SequenceScorer.TokenSource source) throws IOException {
        Path target = out.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NoSuchFileException(out.toString(), null, "the output's directory does not exist");
        }
        Path temporary = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        Interruption.leaves(out + " was not written (its partial copy was removed)");
        try {
            SequenceScorer.Summary summary;
            try (BufferedWriter w = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8)) {
                w.write("position,nll\n");
                summary = SequenceScorer.score(lm, source, window, new CsvSink(w, lm, source.length()));
            }
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Interruption.leaves(out + " is complete");
            return summary;
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * Writes each position's row, and after each window logs a progress line (every {@value
     * Progress#INTERVAL_PROPERTY} seconds, default 10, and after the last window) or stops when SIGINT or SIGTERM
     * has come ({@link Interruption}).
     */
    private final class CsvSink implements SequenceScorer.Sink {
        private final BufferedWriter w;
        private final long positions;
        private final long windows;
        private final long start = System.nanoTime();
        private long lastLine = start;
        private long windowsDone;

        CsvSink(BufferedWriter w, HybridLm lm, long tokens) {
            this.w = w;
            this.positions = tokens - 1;
            this.windows = SequenceScorer.windowCount(lm, tokens, window);
        }

        @Override
        public void accept(long position, double nll) throws IOException {
            w.write(Long.toString(position));
            w.write(',');
            w.write(Double.toString(nll));
            w.write('\n');
        }

        @Override
        public void windowScored(long done) throws IOException {
            if (Interruption.requested()) {
                throw new InterruptedIOException("stopped after " + done + " of " + positions + " positions");
            }
            windowsDone++;
            long now = System.nanoTime();
            if (now - lastLine >= progressNanos || done == positions) {
                lastLine = now;
                LOG.info(Progress.line(
                        (double) done / positions,
                        "window " + windowsDone + "/" + windows,
                        done,
                        positions,
                        (now - start) / 1e9));
            }
        }
    }

    /** The ids of an encoded text, held in memory. */
    private static final class Encoded implements SequenceScorer.TokenSource {
        private final int[] ids;

        Encoded(int[] ids) {
            this.ids = ids;
        }

        @Override
        public long length() {
            return ids.length;
        }

        @Override
        public int[] read(long start, int count) {
            return java.util.Arrays.copyOfRange(ids, Math.toIntExact(start), Math.toIntExact(start + count));
        }
    }

    static DataType dataType(String name) {
        return Precision.parse("--dtype", name);
    }
}
