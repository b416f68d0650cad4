package io.ssmspark.data.synthetic;

import io.ssmspark.data.ReadItem;
import io.ssmspark.data.TokenChunk;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A synthetic corpus as a Spark source: document ranges are generated on the executors, document
 * {@code i} with ordinal {@code i} and id {@code NAME-i}, its chunks carrying its answer flags when the
 * task has answers.
 */
public final class SyntheticSource {
    private SyntheticSource() {}

    public static JavaRDD<ReadItem> items(JavaSparkContext sc, SyntheticCorpus corpus, int partitions, int maxChunk) {
        long n = corpus.documentCount();
        int ranges = (int) Math.max(1, Math.min(partitions, n));
        List<Long> starts = new ArrayList<>();
        for (int r = 0; r < ranges; r++) {
            starts.add(n * r / ranges);
        }
        return sc.parallelize(starts, ranges)
                .flatMap(start -> {
                    int r = starts.indexOf(start);
                    long end = r + 1 < ranges ? starts.get(r + 1) : n;
                    return LongStream.range(start, end).iterator();
                })
                .flatMap(i -> chunks(corpus, i, maxChunk).iterator());
    }

    private static List<ReadItem> chunks(SyntheticCorpus corpus, long index, int maxChunk) {
        SyntheticDocument doc = corpus.generate(index);
        int[] tokens = doc.tokens;
        String id = corpus.name() + "-" + index;
        List<ReadItem> out = new ArrayList<>();
        for (int s = 0; s < tokens.length || s == 0; s += maxChunk) {
            int e = Math.min(tokens.length, s + maxChunk);
            TokenChunk chunk = new TokenChunk(id, index, s, Arrays.copyOfRange(tokens, s, e), e == tokens.length);
            out.add(ReadItem.of(
                    doc.answers == null ? chunk : chunk.withAnswers(Arrays.copyOfRange(doc.answers, s, e))));
        }
        return out;
    }
}
