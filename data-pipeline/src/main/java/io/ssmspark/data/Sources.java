package io.ssmspark.data;

import io.ssmspark.data.source.FileListing;
import io.ssmspark.data.source.FileSources;
import io.ssmspark.data.source.ParquetSource;
import io.ssmspark.data.synthetic.SyntheticCorpora;
import io.ssmspark.data.synthetic.SyntheticCorpus;
import io.ssmspark.data.synthetic.SyntheticSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * Reads a data spec into token sequences through Spark and the Hadoop FileSystem API.
 *
 * <p>{@link #read} runs one pass over the data at once: it checks every record, counts documents
 * and tokens, and builds the {@link DocumentTable}. Without skipping, the first bad record stops
 * it with a {@link BadRecordException} naming the file and offset; with skipping, bad records are
 * left out (each spoils only its own record) and counted in the {@link ReadReport}.
 *
 * <p>A {@code synthetic:NAME} spec ignores the format options. For pre-tokenized formats (tokens,
 * Parquet) a {@value Vocabulary#FILE_NAME} beside the data supplies the vocabulary size and
 * separator; options that contradict it are refused.
 */
public final class Sources {
    private Sources() {}

    public static SourceData read(SparkSession spark, String spec, ReadOptions options) throws IOException {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        DataSpec dataSpec = DataSpec.parse(spec);
        List<BadRecord> badFiles = new ArrayList<>();
        if (dataSpec.isSynthetic()) {
            SyntheticCorpus corpus = SyntheticCorpora.create(dataSpec.syntheticName(), dataSpec.parameters());
            int partitions = options.partitions() > 0 ? options.partitions() : sc.defaultParallelism();
            JavaRDD<ReadItem> items = SyntheticSource.items(sc, corpus, partitions, options.maxChunkTokens());
            return summarize(sc, spec, 0, items, corpus.vocabulary(), badFiles, options);
        }
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        List<FileStatus> files = FileListing.list(dataSpec.path(), conf);
        Vocabulary stored = storedVocabulary(dataSpec.path(), options, conf);
        if (stored != null) {
            options = options.withVocabSize(stored.size()).withSeparatorToken(stored.separatorId());
        }
        Vocabulary vocabulary = options.fileVocabulary(); // validates the options
        if (stored != null) {
            vocabulary = stored;
        }
        JavaRDD<ReadItem> items = options.format() == InputFormat.PARQUET
                ? ParquetSource.items(spark, files, options, vocabulary, badFiles)
                : FileSources.items(sc, files, options, vocabulary, conf, badFiles);
        return summarize(sc, spec, files.size(), items, vocabulary, badFiles, options);
    }

    /**
     * For pre-tokenized formats, the vocabulary stored beside the data, checked against the options
     * given (a size or separator that disagrees with it is an error); null when there is none.
     */
    private static Vocabulary storedVocabulary(String path, ReadOptions options, Configuration conf)
            throws IOException {
        if (options.format() == InputFormat.TEXT || options.format() == InputFormat.FASTA) {
            return null;
        }
        org.apache.hadoop.fs.Path file = FileListing.vocabularyBeside(path, conf);
        if (file == null) {
            return null;
        }
        Vocabulary v = Vocabulary.readFrom(file.getParent(), conf);
        if (options.vocabSize() > 0 && options.vocabSize() != v.size()) {
            throw new IllegalArgumentException(
                    file + " gives vocabulary size " + v.size() + ", but the options give " + options.vocabSize());
        }
        if (options.separatorToken() >= 0 && options.separatorToken() != v.separatorId()) {
            throw new IllegalArgumentException(file + " gives separator " + v.separatorId() + ", but the options give "
                    + options.separatorToken());
        }
        return v;
    }

    private static SourceData summarize(
            JavaSparkContext sc,
            String spec,
            int fileCount,
            JavaRDD<ReadItem> items,
            Vocabulary vocabulary,
            List<BadRecord> badFiles,
            ReadOptions options)
            throws IOException {
        int maxExamples = options.maxBadExamples();
        List<PartialTable> parts;
        try {
            // Per-record summaries, sorted by ordinal across partitions, condensed per partition: the
            // partial tables come back in ordinal order and simply concatenate.
            parts = items.mapToPair(
                            i -> new Tuple2<>(i.bad != null ? i.bad.ordinal : i.chunk.ordinal, RecordSummary.of(i)))
                    .reduceByKey(RecordSummary::merge)
                    .sortByKey(true)
                    .mapPartitions(
                            it -> List.of(PartialTable.of(it, maxExamples)).iterator())
                    .collect();
        } catch (Exception e) { // SparkException is checked but undeclared
            throw SparkErrors.rethrowCause(e);
        }
        PartialTable.LongList ordinals = new PartialTable.LongList();
        PartialTable.LongList lengths = new PartialTable.LongList();
        PartialTable.LongList hashes = new PartialTable.LongList();
        PartialTable.LongList badOrdinals = new PartialTable.LongList();
        List<BadRecord> bad = new ArrayList<>(badFiles);
        badFiles.forEach(b -> badOrdinals.add(b.ordinal));
        long empty = 0;
        for (PartialTable p : parts) {
            ordinals.addAll(p.ordinals);
            lengths.addAll(p.lengths);
            hashes.addAll(p.idHashes);
            badOrdinals.addAll(p.badOrdinals);
            bad.addAll(java.util.Arrays.asList(p.badExamples));
            empty += p.emptyRecords;
        }
        bad.sort(Comparator.comparingLong((BadRecord b) -> b.ordinal).thenComparingLong(b -> b.offset));
        long[] badSorted = badOrdinals.toArray();
        java.util.Arrays.sort(badSorted);
        DocumentTable table = new DocumentTable(ordinals.toArray(), lengths.toArray(), hashes.toArray());
        ReadReport report = new ReadReport(
                spec,
                fileCount,
                table.size(),
                table.totalTokens(),
                empty,
                badSorted.length,
                bad.subList(0, Math.min(bad.size(), maxExamples)));
        return new SourceData(sc, items, vocabulary, report, table, badSorted);
    }
}
