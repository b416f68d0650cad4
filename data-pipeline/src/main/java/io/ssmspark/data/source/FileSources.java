package io.ssmspark.data.source;

import io.ssmspark.data.BadRecord;
import io.ssmspark.data.BadRecordException;
import io.ssmspark.data.InputFormat;
import io.ssmspark.data.ReadItem;
import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.Vocabulary;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Turns the files of a text, FASTA or token source into an RDD of {@link ReadItem}s. File-level
 * problems that the listing already shows (an empty file, a token file whose length is not a
 * multiple of the token width) are found here on the driver: they fail at once, or with skipping
 * on, the file is left out whole and reported.
 */
public final class FileSources {
    /** Largest byte range one task reads from a splittable file. */
    static final long MAX_SPLIT_BYTES = 128L << 20;

    private FileSources() {}

    /** The items of {@code files}; file-level bad records found on the driver go to {@code badFiles}. */
    public static JavaRDD<ReadItem> items(
            JavaSparkContext sc,
            List<FileStatus> files,
            ReadOptions options,
            Vocabulary vocabulary,
            Configuration conf,
            List<BadRecord> badFiles)
            throws IOException {
        ReadPlan plan = new ReadPlan(options, vocabulary, conf);
        int partitions = options.partitions() > 0 ? options.partitions() : sc.defaultParallelism();
        List<FileSplit> splits = splits(files, plan, partitions, badFiles);
        return sc.parallelize(splits, Math.max(1, Math.min(partitions, splits.size())))
                .flatMap(plan::reader);
    }

    static List<FileSplit> splits(List<FileStatus> files, ReadPlan plan, int partitions, List<BadRecord> badFiles)
            throws IOException {
        ReadOptions options = plan.options;
        int width = Math.max(1, options.format().tokenWidthBytes());
        long total = 0;
        List<Integer> good = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            FileStatus f = files.get(i);
            String path = f.getPath().toString();
            BadRecord problem = null;
            if (width > 1 && ReadPlan.isGzip(path)) {
                throw new IllegalArgumentException(
                        path + ": " + options.format().cliName()
                                + " files are raw little-endian tokens, but this name ends in .gz; decompress it first");
            }
            if (f.getLen() == 0) {
                problem = new BadRecord(path, Ordinals.of(i, 0), "byte", 0, "empty file: expected at least one record");
            } else if (!ReadPlan.isGzip(path) && f.getLen() >= Ordinals.MAX_OFFSET) {
                throw new IllegalArgumentException(path + ": " + f.getLen() + " bytes; files up to "
                        + Ordinals.MAX_OFFSET + " bytes are supported");
            } else if (width > 1 && f.getLen() % width != 0) {
                long tail = f.getLen() - f.getLen() % width;
                problem = new BadRecord(
                        path,
                        Ordinals.of(i, 0),
                        "byte",
                        tail,
                        "file length " + f.getLen()
                                + " is not a multiple of " + width + " bytes ("
                                + options.format().cliName()
                                + "): the last token is truncated, so the file is corrupt");
            }
            if (problem != null) {
                if (!options.skipBadRecords()) {
                    throw new BadRecordException(problem);
                }
                badFiles.add(problem);
                continue;
            }
            good.add(i);
            total += f.getLen();
        }
        long target = Math.max(1, (total + partitions - 1) / partitions);
        long splitBytes = Math.min(MAX_SPLIT_BYTES, ((target + width - 1) / width) * width);
        List<FileSplit> splits = new ArrayList<>();
        for (int i : good) {
            FileStatus f = files.get(i);
            String path = f.getPath().toString();
            long len = f.getLen();
            if (!plan.splittable(path)) {
                splits.add(new FileSplit(path, i, len, 0, len));
                continue;
            }
            for (long s = 0; s < len; s += splitBytes) {
                splits.add(new FileSplit(path, i, len, s, Math.min(len, s + splitBytes)));
            }
        }
        if (options.format() == InputFormat.PARQUET) {
            throw new IllegalArgumentException("Parquet files are read through Spark SQL, not as file splits");
        }
        return splits;
    }
}
