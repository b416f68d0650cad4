package io.ssmspark.jobs.cli;

import io.ssmspark.data.InputFormat;
import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.Segments;
import io.ssmspark.data.SourceData;
import io.ssmspark.data.Sources;
import io.ssmspark.data.TextMode;
import io.ssmspark.data.TextTokenizer;
import io.ssmspark.jobs.score.ScoreTables;
import io.ssmspark.jobs.score.SequenceParallelScorer;
import io.ssmspark.jobs.score.SequenceSummary;
import io.ssmspark.jobs.spark.Interruption;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.MambaConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark score}: per-token NLL of long sequences on Spark, each sequence cut into segments scored on
 * different executors with the state passed across them (DESIGN.md, "State passing across segments"). Writes
 * OUTPUT/tokens (one row per scored position) and OUTPUT/summary (one row per sequence).
 */
@Command(
        name = "score",
        mixinStandardHelpOptions = true,
        description = {
            "Scores long sequences with a checkpoint on Spark, cut into segments across tasks.",
            "Writes per-position NLL (natural log; position i is token i given tokens 0..i-1) and a per-sequence",
            "summary (tokens, mean NLL, perplexity, bits per token)."
        })
public final class ScoreCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ScoreCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint directory.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "Input path, glob or URI.")
    String input;

    @Option(
            names = "--input-format",
            required = true,
            paramLabel = "text|fasta|tokens-i32|tokens-u16|parquet",
            description = "Input format.")
    String inputFormat;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "DIR",
            description = "Output directory (must not exist, unless --resume continues the run that made it).")
    String output;

    @Option(
            names = "--resume",
            description = "Continue the unfinished run whose output directory --output names (its progress in"
                    + " OUTPUT/_scoring), with the same model, input and settings; start afresh where it does not"
                    + " exist.")
    boolean resume;

    @Option(
            names = "--commit-every",
            defaultValue = "0",
            paramLabel = "WAVES",
            description = "Commit the scored segments every WAVES waves, so that a retried stage or --resume starts"
                    + " after the last commit (default: 0, at most 100 commits a run).")
    int commitEvery;

    @Option(
            names = "--segment-length",
            defaultValue = "16384",
            paramLabel = "N",
            description =
                    "Tokens per segment (default: ${DEFAULT-VALUE}); a task's memory grows with it (see the README).")
    int segmentLength;

    @Option(
            names = "--format",
            defaultValue = "parquet",
            paramLabel = "parquet|csv",
            description = "Output format (default: ${DEFAULT-VALUE}); csv has exactly sequence_id,position,token,nll"
                    + " (then token_text with --token-text).")
    String format;

    @Option(
            names = "--master",
            paramLabel = "URL",
            description = "Spark master (default: spark-submit's, else local[*]).")
    String master;

    @Option(
            names = "--partitions",
            defaultValue = "0",
            paramLabel = "N",
            description = "Segment partitions (default: Spark's default parallelism).")
    int partitions;

    @Option(names = "--skip-bad-records", description = "Leave bad records out (counted) instead of stopping.")
    boolean skipBadRecords;

    @Option(
            names = "--dtype",
            defaultValue = "float32",
            paramLabel = "float32|float64",
            description = "Compute precision (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "Add the top-K predicted ids.")
    int topK;

    @Option(names = "--with-embeddings", description = "Add the last hidden state (norm_f output) of each position.")
    boolean withEmbeddings;

    @Option(
            names = "--text-mode",
            defaultValue = "file",
            paramLabel = "file|line",
            description = "Text records: whole files or lines (default: ${DEFAULT-VALUE}).")
    String textMode;

    @Option(
            names = "--vocab-size",
            defaultValue = "0",
            paramLabel = "N",
            description = "Token-file vocabulary size when no vocab.json lies beside the data (default: the model's"
                    + " vocab_size).")
    int vocabSize;

    @Option(
            names = "--storage-level",
            defaultValue = "DISK_ONLY",
            paramLabel = "LEVEL",
            description =
                    "Spark storage level of the scored positions until they are written (default: ${DEFAULT-VALUE},"
                            + " which keeps the heap small whatever the sequence length).")
    String storageLevel;

    @Option(
            names = "--parallel-segments",
            defaultValue = "0",
            paramLabel = "N",
            description = "Segments scored at once, one per task of a Spark barrier stage; needs N free task slots "
                    + "(default: Spark's default parallelism, the slots of local mode and of a standalone cluster).")
    int parallelSegments;

    @Option(
            names = "--tokenizer",
            paramLabel = "PATH",
            description = "Encode text input with this Hugging Face tokenizer.json (or a model directory holding one)"
                    + " instead of a token per byte.")
    Path tokenizer;

    @Option(
            names = "--token-text",
            description = "Add a token_text column: each token's text under --tokenizer (a part of a multi-byte"
                    + " character shows as U+FFFD).")
    boolean tokenText;

    @Override
    public Integer call() throws IOException {
        if (segmentLength < 1) {
            throw new IllegalArgumentException(
                    "--segment-length: expected at least 1 token but found " + segmentLength);
        }
        boolean csv = switch (format) {
            case "parquet" -> false;
            case "csv" -> true;
            default ->
                throw new IllegalArgumentException("--format: expected parquet or csv but found '" + format + "'");
        };
        if (csv && (topK > 0 || withEmbeddings)) {
            throw new IllegalArgumentException("--format csv: holds exactly sequence_id,position,token,nll; "
                    + "--top-k and --with-embeddings need --format parquet");
        }
        StorageLevel storage;
        try {
            storage = StorageLevel.fromString(storageLevel);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "--storage-level: expected a Spark storage level such as MEMORY_AND_DISK " + "but found '"
                            + storageLevel + "'");
        }
        ReadOptions read = ReadOptions.defaults()
                .withFormat(InputFormat.parse(inputFormat))
                .withTextMode(TextMode.parse(textMode))
                .withSkipBadRecords(skipBadRecords);
        if (vocabSize < 0) {
            throw new IllegalArgumentException(
                    "--vocab-size: expected a positive number of token ids but found " + vocabSize);
        }
        if (vocabSize > 0) {
            read = read.withVocabSize(vocabSize);
        }
        ModelBlob blob = ModelBlob.load(model, NllCommand.dataType(dtype));
        MambaConfig config = blob.config();
        read = read.withFallbackVocabSize(config.vocabSize());
        TextTokenizer tok = null;
        Path tokenizerFile = read.format() == InputFormat.TEXT ? ModelTokenizer.resolve(tokenizer, model) : tokenizer;
        if (tokenizerFile != null) {
            if (read.format() != InputFormat.TEXT) {
                throw new IllegalArgumentException(
                        "--tokenizer: encodes text input, but --input-format is " + inputFormat);
            }
            tok = TextTokenizer.load(tokenizerFile);
            tok.requireFitsModel(config.vocabSize());
            read = read.withTokenizer(tok);
        } else if (tokenText) {
            throw new IllegalArgumentException("--token-text: needs --tokenizer");
        }

        SparkSession spark =
                SparkSessions.builder("ssm-spark score").master(master).build();
        try {
            org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
            FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
            org.apache.hadoop.fs.Path progress = new org.apache.hadoop.fs.Path(out, PROGRESS);
            boolean resuming = resume && fs.exists(out);
            if (resuming && !fs.exists(progress)) {
                if (fs.exists(new org.apache.hadoop.fs.Path(out, "summary"))) {
                    spec.commandLine()
                            .getOut()
                            .println("--resume: " + output + " is a finished score output; nothing left to do");
                    return 0;
                }
                throw new IllegalArgumentException(
                        "--resume: " + output + " holds no unfinished score run (no " + PROGRESS + " in it)");
            }
            if (fs.exists(out) && !resuming) {
                throw new FileAlreadyExistsException(
                        output, null, "the output directory already exists (--resume continues an unfinished run)");
            }
            Interruption.leaves("nothing was written (" + output + " was not created)");
            SourceData data = Sources.read(spark, input, read);
            data.vocabulary().requireFitsModel(config.vocabSize());
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int parts = partitions > 0 ? partitions : jsc.defaultParallelism();
            Segments segments = Segments.cut(data, segmentLength, parts);
            SequenceParallelScorer.Result r;
            try {
                r = new SequenceParallelScorer(jsc, blob, storage, topK, withEmbeddings, parallelSegments)
                        .progressIn(progress.toString(), resuming, commitEvery)
                        .score(segments.segments());
            } catch (Exception | Error e) { // a failed or cancelled scoring stage, or one out of memory
                Interruption.leaves(keepOrRemove(fs, out, progress, resuming));
                throw e;
            }
            try {
                LOG.info("writing {}/tokens and {}/summary", output, output);
                Interruption.leaves("the output " + output + " was being written and may be incomplete");
                org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> tokens =
                        ScoreTables.tokens(spark, r.scored(), withEmbeddings, topK > 0);
                if (tokenText) {
                    tokens = ScoreTables.withTokenText(tokens, tok);
                }
                write(tokens, output + "/tokens", csv);
                write(ScoreTables.summary(spark, r.summaries()), output + "/summary", csv);
                r.discardProgress();
                Interruption.leaves("the output " + output + " is complete");
                report(data, segments, r);
            } catch (Exception | Error e) { // a failed or cancelled Spark job (SparkException: checked, undeclared)
                Interruption.leaves(removeWritten(fs, out));
                throw e;
            } finally {
                r.release(); // the persisted scores and the driver's exchange service
            }
        } finally {
            spark.stop();
        }
        return 0;
    }

    /** Where the scored segments are committed until the output is written (the run's {@code CommitLog}). */
    private static final String PROGRESS = "_scoring";

    /**
     * After a failed or interrupted scoring stage: keeps the output directory when it holds committed waves (they
     * let --resume continue), else removes it as a run that wrote nothing; says which.
     */
    private String keepOrRemove(
            FileSystem fs, org.apache.hadoop.fs.Path out, org.apache.hadoop.fs.Path progress, boolean resuming) {
        try {
            org.apache.hadoop.fs.Path commits = new org.apache.hadoop.fs.Path(progress, "commits");
            int committed =
                    fs.exists(commits) ? fs.listStatus(commits, p -> p.getName().startsWith("commit-")).length : 0;
            if (committed > 0 || resuming) {
                return committed + " commits of scored waves are kept in " + progress
                        + "; run the same command with --resume to continue";
            }
        } catch (IOException e) {
            // fall through: a run that cannot tell what it committed removes what it made
        }
        String removed = removeIncomplete(fs, out);
        return removed.startsWith("the incomplete output")
                ? "nothing was committed yet (" + output + " was removed)"
                : removed;
    }

    /**
     * Writing the output failed after the waves were all committed: removes the half-written tokens and summary and
     * keeps the progress, which --resume writes out again.
     */
    private String removeWritten(FileSystem fs, org.apache.hadoop.fs.Path out) {
        try {
            for (String part : new String[] {"tokens", "summary"}) {
                fs.delete(new org.apache.hadoop.fs.Path(out, part), true);
            }
            return "the half-written output in " + output + " was removed; its scored waves are kept in " + output + "/"
                    + PROGRESS + ": run the same command with --resume to write it";
        } catch (IOException | RuntimeException e) {
            return "the output " + output + " was being written and may be incomplete (" + e.getMessage()
                    + "); remove it before running again";
        }
    }

    /** Removes the output directory this run created (nothing half-written stays) and says what is left. */
    private String removeIncomplete(FileSystem fs, org.apache.hadoop.fs.Path out) {
        try {
            if (!fs.exists(out)) {
                return "nothing was written (" + output + " was not created)";
            }
            fs.delete(out, true);
            return "the incomplete output " + output + " was removed";
        } catch (IOException | RuntimeException e) {
            return "the incomplete output " + output + " could not be removed (" + e.getMessage()
                    + "); remove it before running again";
        }
    }

    private static void write(org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> df, String dir, boolean csv) {
        if (csv) {
            df.write().option("header", "true").csv(dir);
        } else {
            df.write().parquet(dir);
        }
    }

    private void report(SourceData data, Segments segments, SequenceParallelScorer.Result r) {
        PrintWriter out = spec.commandLine().getOut();
        long positions = 0;
        double sum = 0;
        for (SequenceSummary s : r.summaries()) {
            positions += s.positions();
            sum += s.nllSum();
        }
        out.println(data.report().summary());
        out.printf(
                Locale.ROOT,
                "sequences: %d, segments: %d, scored positions: %d%n",
                segments.sequenceCount(),
                segments.segmentCount(),
                positions);
        out.printf(
                Locale.ROOT,
                "mean NLL: %.6f nats/token, perplexity %.6f%n",
                sum / positions,
                Math.exp(sum / positions));
        out.println(r.exchangeLine());
        out.flush();
    }
}
