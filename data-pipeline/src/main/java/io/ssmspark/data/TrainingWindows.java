package io.ssmspark.data;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Iterator;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Training windows over a source.
 *
 * <ol>
 *   <li>Each document goes to validation when {@code hash(id)} (FNV-1a + mix, mapped to [0, 1)) is
 *       below the validation fraction, else to training; the split does not depend on seed or epoch.
 *   <li>Each split's documents, in ordinal (input) order, are concatenated, each followed by the
 *       separator when the vocabulary has one, into a stream of T tokens.
 *   <li>Window w holds stream positions {@code [w*stride, w*stride + seq_len + 1)}; there are
 *       {@code floor((T - seq_len - 1) / stride) + 1} windows (0 when T < seq_len + 1), and the
 *       {@code T - ((n-1)*stride + seq_len + 1)} tokens after the last window are dropped.
 *   <li>Training windows are shuffled per epoch by a {@link SeededPermutation} of (seed, epoch):
 *       window w gets rank {@code perm(w)}, validation windows keep rank w. The window of rank r goes
 *       to partition {@code r mod P}, in rank order within the partition, so partitions differ by at
 *       most one window.
 * </ol>
 *
 * Everything depends only on the documents and these options, never on the input partitioning. The
 * windows are assembled by one shuffle of token fragments, so no task holds more than a chunk and
 * one window at a time.
 */
public final class TrainingWindows {
    private final JavaRDD<Window> train;
    private final JavaRDD<Window> validation;
    private final WindowCounts trainCounts;
    private final WindowCounts validationCounts;

    private TrainingWindows(
            JavaRDD<Window> train,
            JavaRDD<Window> validation,
            WindowCounts trainCounts,
            WindowCounts validationCounts) {
        this.train = train;
        this.validation = validation;
        this.trainCounts = trainCounts;
        this.validationCounts = validationCounts;
    }

    public JavaRDD<Window> train() {
        return train;
    }

    public JavaRDD<Window> validation() {
        return validation;
    }

    public WindowCounts trainCounts() {
        return trainCounts;
    }

    public WindowCounts validationCounts() {
        return validationCounts;
    }

    /** Where each document sits in its split's stream; broadcast to the tasks. */
    public static final class Layout implements Serializable {
        private static final long serialVersionUID = 1L;

        public long[] ordinals;
        public long[] streamOffsets;
        public boolean[] validation;
        public int separator;
        public int windowLength;
        public int stride;
        public long trainWindows;
        public long validationWindows;

        public Layout() {}
    }

    public static TrainingWindows build(SourceData data, WindowOptions options) {
        DocumentTable table = data.documents();
        int separator = data.vocabulary().separatorId();
        Layout layout = new Layout();
        layout.ordinals = table.ordinals;
        layout.streamOffsets = new long[table.size()];
        layout.validation = new boolean[table.size()];
        layout.separator = separator;
        layout.windowLength = options.windowLength();
        layout.stride = options.stride();
        long[] streamLength = new long[2];
        long[] tokens = new long[2];
        long[] docs = new long[2];
        for (int d = 0; d < table.size(); d++) {
            boolean val = Hashing.unitInterval(table.idHashes[d]) < options.validationFraction();
            int s = val ? 1 : 0;
            layout.validation[d] = val;
            layout.streamOffsets[d] = streamLength[s];
            streamLength[s] += table.lengths[d] + (separator >= 0 ? 1 : 0);
            tokens[s] += table.lengths[d];
            docs[s]++;
        }
        WindowCounts[] counts = new WindowCounts[2];
        for (int s = 0; s < 2; s++) {
            long t = streamLength[s];
            long w = options.windowLength();
            long n = t < w ? 0 : (t - w) / options.stride() + 1;
            long dropped = n == 0 ? t : t - ((n - 1) * options.stride() + w);
            counts[s] = new WindowCounts(docs[s], tokens[s], t, n, dropped);
        }
        layout.trainWindows = counts[0].windows;
        layout.validationWindows = counts[1].windows;
        int partitions = options.partitions() > 0
                ? options.partitions()
                : data.sparkContext().defaultParallelism();
        Broadcast<Layout> shared = data.sparkContext().broadcast(layout);
        long permutationSeed = Hashing.mix64(options.seed() * 0x9E3779B97F4A7C15L + Hashing.mix64(options.epoch()));
        SeededPermutation permutation = new SeededPermutation(layout.trainWindows, permutationSeed);
        JavaRDD<Window> train = windows(data, shared, false, permutation, partitions);
        JavaRDD<Window> validation = windows(data, shared, true, null, partitions);
        return new TrainingWindows(train, validation, counts[0], counts[1]);
    }

    private static JavaRDD<Window> windows(
            SourceData data,
            Broadcast<Layout> shared,
            boolean validation,
            SeededPermutation permutation,
            int partitions) {
        int windowLength = shared.value().windowLength;
        return data.chunks()
                .flatMapToPair(c -> fragments(c, shared.value(), validation, permutation))
                .repartitionAndSortWithinPartitions(new GroupPartitioner(partitions))
                .mapPartitions(it -> new FragmentAssembler<Window>(it) {
                    @Override
                    protected int recordLength(FragmentKey first) {
                        return windowLength;
                    }

                    @Override
                    protected Window record(FragmentKey first, String sequenceId, int[] tokens, boolean[] answers) {
                        return new Window(first.tag, first.group, tokens, answers);
                    }
                });
    }

    /** The pieces of chunk {@code c} for every window that overlaps it. */
    static Iterator<Tuple2<FragmentKey, Fragment>> fragments(
            TokenChunk c, Layout layout, boolean validation, SeededPermutation permutation) {
        int d = Arrays.binarySearch(layout.ordinals, c.ordinal);
        if (d < 0) {
            throw new IllegalStateException(
                    "chunk of " + c.sequenceId + " (ordinal " + c.ordinal + ") is not in the document table");
        }
        long n = validation ? layout.validationWindows : layout.trainWindows;
        if (layout.validation[d] != validation || n == 0) {
            return java.util.Collections.emptyIterator();
        }
        int[] ext = c.tokens;
        boolean[] extAnswers = c.answers; // the separator is never an answer
        if (c.last && layout.separator >= 0) {
            ext = Arrays.copyOf(c.tokens, c.tokens.length + 1);
            ext[c.tokens.length] = layout.separator;
            extAnswers = c.answers == null ? null : Arrays.copyOf(c.answers, c.answers.length + 1);
        }
        long w = layout.windowLength;
        long stride = layout.stride;
        long p0 = layout.streamOffsets[d] + c.start;
        long pEnd = p0 + ext.length;
        long first = p0 < w ? 0 : (p0 - w) / stride + 1; // first window ending after p0
        long last = Math.min(n - 1, (pEnd - 1) / stride); // last window starting before pEnd
        int[] tokens = ext;
        boolean[] answers = extAnswers;
        // Lazily: with a small stride one chunk feeds many windows, and their pieces overlap.
        return new Iterator<>() {
            private long k = first;

            @Override
            public boolean hasNext() {
                return k <= last;
            }

            @Override
            public Tuple2<FragmentKey, Fragment> next() {
                if (k > last) {
                    throw new java.util.NoSuchElementException();
                }
                long start = k * stride;
                long a = Math.max(p0, start);
                long b = Math.min(pEnd, start + w);
                long rank = permutation == null ? k : permutation.apply(k);
                int from = (int) (a - p0);
                int to = (int) (b - p0);
                Tuple2<FragmentKey, Fragment> out = new Tuple2<>(
                        new FragmentKey(rank, a - start, k),
                        new Fragment(
                                null,
                                Arrays.copyOfRange(tokens, from, to),
                                answers == null ? null : Arrays.copyOfRange(answers, from, to)));
                k++;
                return out;
            }
        };
    }
}
