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
    Vocabulary vocabulary = options.fileVocabulary();
    List<FileStatus> files = FileListing.list(dataSpec.path(), conf);
    JavaRDD<ReadItem> items = options.format() == InputFormat.PARQUET
        ? ParquetSource.items(spark, files, options, vocabulary, badFiles)
        : FileSources.items(sc, files, options, vocabulary, conf, badFiles);
    return summarize(sc, spec, files.size(), items, vocabulary, badFiles, options);
  }

  private static SourceData summarize(JavaSparkContext sc, String spec, int fileCount, JavaRDD<ReadItem> items,
      Vocabulary vocabulary, List<BadRecord> badFiles, ReadOptions options) throws IOException {
    List<Tuple2<Long, RecordSummary>> summaries;
    try {
      summaries = new ArrayList<>(items
          .mapToPair(i -> new Tuple2<>(i.bad != null ? i.bad.ordinal : i.chunk.ordinal, RecordSummary.of(i)))
          .reduceByKey(RecordSummary::merge)
          .collect());
    } catch (Exception e) { // SparkException is checked but undeclared
      throw SparkErrors.rethrowCause(e);
    }
    summaries.sort(Comparator.comparing(Tuple2::_1));
    List<BadRecord> bad = new ArrayList<>(badFiles);
    List<Long> ordinals = new ArrayList<>();
    List<Long> lengths = new ArrayList<>();
    List<Long> hashes = new ArrayList<>();
    long empty = 0;
    long tokens = 0;
    for (Tuple2<Long, RecordSummary> t : summaries) {
      RecordSummary s = t._2();
      if (s.bad != null) {
        bad.add(s.bad);
      } else if (!s.sawStart || !s.sawEnd) {
        throw new IllegalStateException("record with ordinal " + t._1() + " was read incompletely (start "
            + s.sawStart + ", end " + s.sawEnd + ")");
      } else if (s.tokens == 0) {
        empty++;
      } else {
        ordinals.add(t._1());
        lengths.add(s.tokens);
        hashes.add(s.idHash);
        tokens += s.tokens;
      }
    }
    bad.sort(Comparator.comparingLong((BadRecord b) -> b.ordinal).thenComparingLong(b -> b.offset));
    long[] badOrdinals = bad.stream().mapToLong(b -> b.ordinal).sorted().distinct().toArray();
    DocumentTable table = new DocumentTable(toArray(ordinals), toArray(lengths), toArray(hashes));
    ReadReport report = new ReadReport(spec, fileCount, table.size(), tokens, empty, badOrdinals.length,
        bad.subList(0, Math.min(bad.size(), options.maxBadExamples())));
    return new SourceData(sc, items, vocabulary, report, table, badOrdinals);
  }

  private static long[] toArray(List<Long> values) {
    long[] a = new long[values.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = values.get(i);
    }
    return a;
  }
}
