package io.ssmspark.data.source;

import io.ssmspark.data.InputFormat;
import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.TextMode;
import io.ssmspark.data.Vocabulary;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.Iterator;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Everything a task needs to read its file splits: options, vocabulary and the Hadoop
 * configuration (shipped with the task closure).
 */
final class ReadPlan implements Serializable {
    private static final long serialVersionUID = 1L;

    final ReadOptions options;
    final Vocabulary vocabulary;
    private final io.ssmspark.data.HadoopConf conf;

    ReadPlan(ReadOptions options, Vocabulary vocabulary, Configuration conf) {
        this.options = options;
        this.vocabulary = vocabulary;
        this.conf = new io.ssmspark.data.HadoopConf(conf);
    }

    static boolean isGzip(String path) {
        return path.endsWith(".gz");
    }

    /** Whether files of this plan may be cut into byte ranges read by different tasks. */
    boolean splittable(String path) {
        if (isGzip(path)) {
            return false;
        }
        InputFormat f = options.format();
        return f.tokenWidthBytes() > 0 || (f == InputFormat.TEXT && options.textMode() == TextMode.LINE);
    }

    /** Opens a split's file: positioned at {@code offset} when plain, decompressed from 0 when gzip. */
    InputStream open(FileSplit split, long offset) throws IOException {
        Path p = new Path(split.path);
        FileSystem fs = p.getFileSystem(conf.get());
        FSDataInputStream raw = fs.open(p, 1 << 16);
        if (isGzip(split.path)) {
            return new GZIPInputStream(raw, 1 << 16);
        }
        raw.seek(offset);
        return raw;
    }

    Iterator<io.ssmspark.data.ReadItem> reader(FileSplit split) {
        switch (options.format()) {
            case FASTA:
                return new FastaReader(this, split);
            case TEXT:
                return options.textMode() == TextMode.LINE
                        ? DelimitedReader.lines(this, split)
                        : DelimitedReader.wholeFile(this, split);
            case TOKENS_U16:
            case TOKENS_I32:
                return options.splitOnSeparator()
                        ? DelimitedReader.tokenSequences(this, split)
                        : new TokenFileReader(this, split);
            default:
                throw new IllegalArgumentException(
                        "no split reader for input format " + options.format().cliName());
        }
    }
}
