package io.ssmspark.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * A source after the read pass: its vocabulary, its {@link ReadReport}, the {@link DocumentTable} of
 * good sequences, and the chunks themselves (lazily re-read; persist {@link #chunks()} when several
 * passes follow and memory allows).
 */
public final class SourceData {
    private final JavaSparkContext sc;
    private final JavaRDD<ReadItem> items;
    private final Vocabulary vocabulary;
    private final ReadReport report;
    private final DocumentTable documents;
    private final long[] badOrdinals;

    SourceData(
            JavaSparkContext sc,
            JavaRDD<ReadItem> items,
            Vocabulary vocabulary,
            ReadReport report,
            DocumentTable documents,
            long[] badOrdinals) {
        this.sc = sc;
        this.items = items;
        this.vocabulary = vocabulary;
        this.report = report;
        this.documents = documents;
        this.badOrdinals = badOrdinals;
    }

    public JavaSparkContext sparkContext() {
        return sc;
    }

    public Vocabulary vocabulary() {
        return vocabulary;
    }

    public ReadReport report() {
        return report;
    }

    public DocumentTable documents() {
        return documents;
    }

    /** The chunks of the good, non-empty sequences, in no particular order. */
    public JavaRDD<TokenChunk> chunks() {
        long[] bad = badOrdinals;
        return items.filter(i ->
                        i.chunk != null && !i.chunk.isEmptyRecord() && Arrays.binarySearch(bad, i.chunk.ordinal) < 0)
                .map(i -> i.chunk);
    }

    /**
     * Whole sequences (chunks joined per record). Each sequence is held in memory in one piece: use
     * {@link #chunks()}, {@link TrainingWindows} or {@link Segments} for very long sequences.
     */
    public JavaRDD<TokenSequence> sequences() {
        return chunks().mapToPair(c -> new Tuple2<>(c.ordinal, c)).groupByKey().map(group -> join(group._2()));
    }

    /** All sequences on the driver, in ordinal (input) order: for small data, tests and the demo. */
    public List<TokenSequence> collectSequences() {
        List<Tuple2<Long, TokenSequence>> pairs = chunks().mapToPair(c -> new Tuple2<>(c.ordinal, c))
                .groupByKey()
                .mapToPair(group -> new Tuple2<>(group._1(), join(group._2())))
                .collect();
        List<Tuple2<Long, TokenSequence>> sorted = new ArrayList<>(pairs);
        sorted.sort(Comparator.comparing(Tuple2::_1));
        List<TokenSequence> out = new ArrayList<>(sorted.size());
        sorted.forEach(p -> out.add(p._2()));
        return out;
    }

    private static TokenSequence join(Iterable<TokenChunk> chunks) {
        List<TokenChunk> list = new ArrayList<>();
        chunks.forEach(list::add);
        list.sort(Comparator.comparingLong(c -> c.start));
        long total = 0;
        for (TokenChunk c : list) {
            if (c.start != total) {
                throw new IllegalStateException("sequence " + c.sequenceId + ": chunk at " + c.start + " after " + total
                        + " tokens (chunks not contiguous)");
            }
            total += c.tokens.length;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("sequence " + list.get(0).sequenceId + " has " + total
                    + " tokens, too many for one array; use chunks(), TrainingWindows or Segments");
        }
        int[] tokens = new int[(int) total];
        for (TokenChunk c : list) {
            System.arraycopy(c.tokens, 0, tokens, (int) c.start, c.tokens.length);
        }
        return new TokenSequence(list.get(0).sequenceId, tokens);
    }
}
