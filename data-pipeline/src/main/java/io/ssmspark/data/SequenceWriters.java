package io.ssmspark.data;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Writes token sequences in each input format (for tests, the demo, and exporting synthetic
 * corpora), so that reading them back gives the same sequences. Call {@link
 * Vocabulary#writeTo} to store the vocabulary beside them.
 */
public final class SequenceWriters {
    private SequenceWriters() {}

    /** Writes raw little-endian tokens (tokens-u16 or tokens-i32) to {@code file}. */
    public static void writeTokens(Path file, int[] tokens, InputFormat format, Configuration conf) throws IOException {
        writeTokenSequences(file, List.of(tokens), format, -1, conf);
    }

    /** Writes sequences back to back, each followed by {@code separator} unless it is -1. */
    public static void writeTokenSequences(
            Path file, List<int[]> sequences, InputFormat format, int separator, Configuration conf)
            throws IOException {
        int width = format.tokenWidthBytes();
        if (width == 0) {
            throw new IllegalArgumentException(
                    "writeTokenSequences writes tokens-u16 or tokens-i32, not " + format.cliName());
        }
        try (OutputStream out = new BufferedOutputStream(create(file, conf), 1 << 16)) {
            for (int[] seq : sequences) {
                for (int t : seq) {
                    writeToken(out, t, width, file);
                }
                if (separator >= 0) {
                    writeToken(out, separator, width, file);
                }
            }
        }
    }

    private static void writeToken(OutputStream out, int t, int width, Path file) throws IOException {
        if (width == 2) {
            if (t < 0 || t > 0xFFFF) {
                throw new IllegalArgumentException(file + ": token " + t + " does not fit in an unsigned 16-bit id");
            }
            out.write(t & 0xff);
            out.write(t >>> 8);
        } else {
            out.write(t & 0xff);
            out.write((t >>> 8) & 0xff);
            out.write((t >>> 16) & 0xff);
            out.write(t >>> 24);
        }
    }

    /** Writes byte tokens (0..255) as one text file (a document in file mode). */
    public static void writeTextFile(Path file, int[] byteTokens, Configuration conf) throws IOException {
        try (OutputStream out = new BufferedOutputStream(create(file, conf), 1 << 16)) {
            for (int t : byteTokens) {
                out.write(requireByte(t, file));
            }
        }
    }

    /** Writes each byte-token sequence as one line ('\n' ended); sequences must hold no newline. */
    public static void writeTextLines(Path file, List<int[]> lines, Configuration conf) throws IOException {
        try (OutputStream out = new BufferedOutputStream(create(file, conf), 1 << 16)) {
            for (int[] line : lines) {
                for (int t : line) {
                    if (t == '\n') {
                        throw new IllegalArgumentException(file + ": a line document cannot contain a newline byte");
                    }
                    out.write(requireByte(t, file));
                }
                out.write('\n');
            }
        }
    }

    /** Writes DNA-token sequences as FASTA, {@code lineWidth} letters a line; gzip when the name ends in .gz. */
    public static void writeFasta(Path file, List<TokenSequence> sequences, int lineWidth, Configuration conf)
            throws IOException {
        if (lineWidth < 1) {
            throw new IllegalArgumentException("FASTA line width must be >= 1, found " + lineWidth);
        }
        OutputStream raw = create(file, conf);
        if (file.getName().endsWith(".gz")) {
            raw = new GZIPOutputStream(raw, 1 << 16);
        }
        try (OutputStream out = new BufferedOutputStream(raw, 1 << 16)) {
            for (TokenSequence s : sequences) {
                if (s.sequenceId.isEmpty() || s.sequenceId.chars().anyMatch(Character::isWhitespace)) {
                    throw new IllegalArgumentException(
                            file + ": FASTA sequence id '" + s.sequenceId + "' must be non-empty without whitespace");
                }
                out.write(('>' + s.sequenceId + '\n').getBytes(java.nio.charset.StandardCharsets.UTF_8));
                for (int i = 0; i < s.tokens.length; i++) {
                    out.write(DnaTokenizer.letterOf(s.tokens[i]));
                    if ((i + 1) % lineWidth == 0 || i == s.tokens.length - 1) {
                        out.write('\n');
                    }
                }
            }
        }
    }

    /** Writes sequences as Parquet: a string id column and an array<int> token column. */
    public static void writeParquet(
            SparkSession spark, String path, List<TokenSequence> sequences, String idColumn, String tokenColumn) {
        StructType schema = new StructType()
                .add(idColumn, DataTypes.StringType, false)
                .add(tokenColumn, DataTypes.createArrayType(DataTypes.IntegerType, false), false);
        List<Row> rows = new ArrayList<>();
        for (TokenSequence s : sequences) {
            Integer[] boxed = new Integer[s.tokens.length];
            for (int i = 0; i < boxed.length; i++) {
                boxed[i] = s.tokens[i];
            }
            rows.add(RowFactory.create(s.sequenceId, boxed));
        }
        Dataset<Row> df = spark.createDataFrame(rows, schema);
        df.coalesce(1).write().mode("overwrite").parquet(path);
    }

    /**
     * Writes a source's sequences as token shards {@code part-NNNNN.u16} (or {@code .i32}) under
     * {@code dir}, in ordinal order, each sequence followed by the separator, plus {@value
     * Vocabulary#FILE_NAME}; read them back with {@code withSplitOnSeparator(true)} and no vocabulary
     * options. Sequences are streamed chunk by chunk; no shard is written empty. Returns the tokens
     * written, separators included.
     */
    public static long writeTokenShards(SourceData data, String dir, InputFormat format, int shards)
            throws IOException {
        Vocabulary v = data.vocabulary();
        int width = format.tokenWidthBytes();
        if (width == 0) {
            throw new IllegalArgumentException("token shards are tokens-u16 or tokens-i32, not " + format.cliName());
        }
        if (!v.hasSeparator()) {
            throw new IllegalArgumentException("vocabulary '" + v.name() + "' has no separator, so shards could not be"
                    + " split back into sequences");
        }
        if (width == 2 && v.size() > 65536) {
            throw new IllegalArgumentException(
                    "vocabulary '" + v.name() + "' has " + v.size() + " ids, more than tokens-u16 holds");
        }
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be >= 1, found " + shards);
        }
        Configuration conf = data.sparkContext().hadoopConfiguration();
        Path root = new Path(dir);
        root.getFileSystem(conf).mkdirs(root);
        HadoopConf shipped = new HadoopConf(conf);
        String suffix = width == 2 ? ".u16" : ".i32";
        int separator = v.separatorId();
        long written;
        try {
            written = data.chunks()
                    .mapToPair(c -> new scala.Tuple2<>(new FragmentKey(c.ordinal, c.start, 0), c))
                    .sortByKey(true, shards)
                    .mapPartitionsWithIndex(
                            (index, it) -> {
                                long n = 0;
                                if (it.hasNext()) {
                                    Path file = new Path(dir, String.format("part-%05d%s", index, suffix));
                                    try (OutputStream out =
                                            new BufferedOutputStream(create(file, shipped.get()), 1 << 16)) {
                                        while (it.hasNext()) {
                                            TokenChunk c = it.next()._2();
                                            for (int t : c.tokens) {
                                                writeToken(out, t, width, file);
                                            }
                                            n += c.tokens.length;
                                            if (c.last) {
                                                writeToken(out, separator, width, file);
                                                n++;
                                            }
                                        }
                                    }
                                }
                                return java.util.List.of(n).iterator();
                            },
                            true)
                    .reduce(Long::sum);
        } catch (Exception e) { // SparkException is checked but undeclared
            throw SparkErrors.rethrowCause(e);
        }
        v.writeTo(root, conf);
        return written;
    }

    private static int requireByte(int t, Path file) {
        if (t < 0 || t > 255) {
            throw new IllegalArgumentException(file + ": token " + t + " is not a byte (0..255)");
        }
        return t;
    }

    private static OutputStream create(Path file, Configuration conf) throws IOException {
        FileSystem fs = file.getFileSystem(conf);
        return fs.create(file, true);
    }
}
