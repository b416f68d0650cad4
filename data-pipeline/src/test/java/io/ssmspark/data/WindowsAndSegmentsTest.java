package io.ssmspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Exact window and segment counts, boundaries and layouts on small known inputs. */
class WindowsAndSegmentsTest {
    @TempDir
    static java.nio.file.Path dir;

    static SparkSession spark;
    static Configuration conf = new Configuration();
    static String tokenDir;

    // Three documents of lengths 5, 3 and 9; token values encode (document, position).
    static final int[][] DOCS = {
        {100, 101, 102, 103, 104},
        {200, 201, 202},
        {300, 301, 302, 303, 304, 305, 306, 307, 308},
    };

    @BeforeAll
    static void setUp() throws IOException {
        spark = TestSpark.session();
        java.nio.file.Path d = Files.createDirectory(dir.resolve("tokens"));
        for (int i = 0; i < DOCS.length; i++) {
            SequenceWriters.writeTokens(
                    new Path(d.resolve("doc" + i + ".bin").toString()), DOCS[i], InputFormat.TOKENS_I32, conf);
        }
        tokenDir = d.toString();
    }

    static ReadOptions tokens(int partitions) {
        return ReadOptions.defaults()
                .withFormat(InputFormat.TOKENS_I32)
                .withVocabSize(1000)
                .withSeparatorToken(999)
                .withPartitions(partitions)
                .withMaxChunkTokens(2);
    }

    /** The stream: 100..104 S 200..202 S 300..308 S, S = 999: 20 tokens. */
    static int[] stream() {
        List<Integer> s = new ArrayList<>();
        for (int[] d : DOCS) {
            Arrays.stream(d).forEach(s::add);
            s.add(999);
        }
        return s.stream().mapToInt(Integer::intValue).toArray();
    }

    static List<Window> sortedByIndex(List<Window> ws) {
        List<Window> out = new ArrayList<>(ws);
        out.sort((a, b) -> Long.compare(a.index, b.index));
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5})
    void windowsHaveExactCountsAndBoundaries(int partitions) throws IOException {
        SourceData data = Sources.read(spark, tokenDir, tokens(partitions));
        assertEquals(3, data.report().documents());
        assertEquals(17, data.report().tokens());
        // seq_len 4: windows of 5 tokens, stride 4 over 20 stream tokens: starts 0, 4, 8, 12 -> 4 windows,
        // the last ends at 17, so 3 tail tokens are dropped.
        TrainingWindows tw = TrainingWindows.build(data, WindowOptions.of(4).withPartitions(3));
        WindowCounts c = tw.trainCounts();
        assertEquals(3, c.documents);
        assertEquals(17, c.tokens);
        assertEquals(20, c.streamTokens);
        assertEquals(4, c.windows);
        assertEquals(3, c.droppedTailTokens);
        assertEquals(0, tw.validationCounts().windows);
        int[] stream = stream();
        List<Window> ws = sortedByIndex(tw.train().collect());
        assertEquals(4, ws.size());
        for (int w = 0; w < 4; w++) {
            assertEquals(w, ws.get(w).index);
            assertArrayEquals(Arrays.copyOfRange(stream, 4 * w, 4 * w + 5), ws.get(w).tokens, "window " + w);
        }
        // stride 3, seq_len 5: windows of 6 at 0, 3, ..., 12 (12 + 6 = 18 <= 20): 5 windows, 2 dropped.
        TrainingWindows tw2 =
                TrainingWindows.build(data, WindowOptions.of(5).withStride(3).withPartitions(2));
        assertEquals(5, tw2.trainCounts().windows);
        assertEquals(2, tw2.trainCounts().droppedTailTokens);
        List<Window> ws2 = sortedByIndex(tw2.train().collect());
        for (int w = 0; w < 5; w++) {
            assertArrayEquals(Arrays.copyOfRange(stream, 3 * w, 3 * w + 6), ws2.get(w).tokens, "window " + w);
        }
        // A stream shorter than one window gives no windows and drops everything.
        TrainingWindows none = TrainingWindows.build(data, WindowOptions.of(20).withPartitions(2));
        assertEquals(0, none.trainCounts().windows);
        assertEquals(20, none.trainCounts().droppedTailTokens);
        assertEquals(0, none.train().count());
    }

    @Test
    void windowsAreIdenticalFor1And2And5InputPartitions() throws IOException {
        List<List<List<Integer>>> layouts = new ArrayList<>();
        for (int p : new int[] {1, 2, 5}) {
            SourceData data = Sources.read(
                    spark,
                    "synthetic:induction-copy?documents=23&length=9&alphabet=11&seed=4",
                    ReadOptions.defaults().withPartitions(p).withMaxChunkTokens(3));
            TrainingWindows tw = TrainingWindows.build(
                    data,
                    WindowOptions.of(6)
                            .withStride(5)
                            .withSeed(7)
                            .withEpoch(2)
                            .withValidationFraction(0.25)
                            .withPartitions(3));
            List<List<Integer>> layout = new ArrayList<>();
            for (List<Window> part : TestSpark.byPartition(tw.train())) {
                List<Integer> flat = new ArrayList<>();
                for (Window w : part) {
                    flat.add((int) w.index);
                    Arrays.stream(w.tokens).forEach(flat::add);
                }
                layout.add(flat);
            }
            for (List<Window> part : TestSpark.byPartition(tw.validation())) {
                List<Integer> flat = new ArrayList<>();
                part.forEach(w -> Arrays.stream(w.tokens).forEach(flat::add));
                layout.add(flat);
            }
            layouts.add(layout);
        }
        assertEquals(layouts.get(0), layouts.get(1));
        assertEquals(layouts.get(0), layouts.get(2));
    }

    /** Each file format, read with 1, 2 and 5 input partitions, gives the same windows and segments. */
    @ParameterizedTest
    @ValueSource(strings = {"text-lines", "fasta", "tokens-u16-split", "parquet"})
    void windowsAndSegmentsDoNotDependOnInputPartitionsForAnyFormat(String kind) throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("any-" + kind));
        io.ssmspark.data.synthetic.SyntheticCorpus genome = io.ssmspark.data.synthetic.SyntheticCorpora.create(
                "genome", java.util.Map.of("documents", "9", "length", "37"));
        List<TokenSequence> seqs = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            seqs.add(new TokenSequence("s" + i, Arrays.copyOf(genome.generate(i).tokens, 5 + 4 * i)));
        }
        String spec = d.toString();
        ReadOptions options;
        switch (kind) {
            case "text-lines": {
                List<int[]> lines = new ArrayList<>();
                seqs.forEach(
                        q -> lines.add(Arrays.stream(q.tokens).map(t -> 'a' + t).toArray()));
                SequenceWriters.writeTextLines(new Path(d.resolve("lines.txt").toString()), lines, conf);
                options = ReadOptions.defaults().withTextMode(TextMode.LINE);
                break;
            }
            case "fasta":
                SequenceWriters.writeFasta(new Path(d.resolve("g.fa").toString()), seqs, 7, conf);
                options = ReadOptions.defaults().withFormat(InputFormat.FASTA);
                break;
            case "tokens-u16-split": {
                List<int[]> raw = new ArrayList<>();
                seqs.forEach(q -> raw.add(q.tokens));
                SequenceWriters.writeTokenSequences(
                        new Path(d.resolve("t.u16").toString()), raw, InputFormat.TOKENS_U16, 5, conf);
                options = ReadOptions.defaults()
                        .withFormat(InputFormat.TOKENS_U16)
                        .withVocabSize(6)
                        .withSeparatorToken(5)
                        .withSplitOnSeparator(true);
                break;
            }
            default:
                spec = d.resolve("p").toString();
                SequenceWriters.writeParquet(spark, spec, seqs, "id", "tokens");
                options = ReadOptions.defaults()
                        .withFormat(InputFormat.PARQUET)
                        .withVocabSize(6)
                        .withSeparatorToken(5);
        }
        List<String> first = null;
        for (int p : new int[] {1, 2, 5}) {
            SourceData data =
                    Sources.read(spark, spec, options.withPartitions(p).withMaxChunkTokens(3));
            assertEquals(9, data.report().documents(), kind);
            TrainingWindows tw = TrainingWindows.build(
                    data,
                    WindowOptions.of(6)
                            .withStride(4)
                            .withValidationFraction(0.3)
                            .withSeed(5)
                            .withPartitions(3));
            List<String> layout = new ArrayList<>();
            for (List<Window> part : TestSpark.byPartition(tw.train())) {
                part.forEach(w -> layout.add(w.index + ":" + w.rank + Arrays.toString(w.tokens)));
                layout.add("|");
            }
            for (List<Window> part : TestSpark.byPartition(tw.validation())) {
                part.forEach(w -> layout.add(w.index + Arrays.toString(w.tokens)));
                layout.add("|");
            }
            for (List<Segment> part :
                    TestSpark.byPartition(Segments.cut(data, 7, 4).segments())) {
                part.forEach(sg -> layout.add(sg + Arrays.toString(sg.tokens)));
                layout.add("|");
            }
            assertTrue(layout.size() > 20, kind + ": " + layout.size());
            if (first == null) {
                first = layout;
            } else {
                assertEquals(first, layout, kind + " with " + p + " input partitions");
            }
        }
    }

    @Test
    void epochShuffleIsAPermutationSpreadEvenlyOverPartitions() throws IOException {
        SourceData data = Sources.read(
                spark,
                "synthetic:induction-copy?documents=40&length=10&alphabet=50",
                ReadOptions.defaults().withPartitions(2));
        // 40 documents x 22 tokens (21 + separator) = 880 stream tokens; seq_len 7, stride 7: 125 windows.
        WindowOptions base = WindowOptions.of(7).withPartitions(4).withSeed(11);
        TrainingWindows e0 = TrainingWindows.build(data, base.withEpoch(0));
        TrainingWindows e1 = TrainingWindows.build(data, base.withEpoch(1));
        assertEquals(125, e0.trainCounts().windows);
        assertEquals(880 - (124 * 7 + 8), e0.trainCounts().droppedTailTokens);
        List<List<Window>> parts0 = TestSpark.byPartition(e0.train());
        List<List<Window>> parts1 = TestSpark.byPartition(e1.train());
        int[] sizes = parts0.stream().mapToInt(List::size).toArray();
        assertArrayEquals(new int[] {32, 31, 31, 31}, sizes);
        Set<Long> ranks = new HashSet<>();
        Set<Long> indices = new HashSet<>();
        List<Long> order0 = new ArrayList<>();
        for (int p = 0; p < parts0.size(); p++) {
            long previous = -1;
            for (Window w : parts0.get(p)) {
                assertEquals(p, w.rank % 4, "rank " + w.rank + " on partition " + p);
                assertTrue(w.rank > previous, "ranks ascend within a partition");
                previous = w.rank;
                ranks.add(w.rank);
                indices.add(w.index);
                order0.add(w.index);
            }
        }
        assertEquals(125, ranks.size());
        assertEquals(125, indices.size());
        List<Long> order1 = new ArrayList<>();
        parts1.forEach(part -> part.forEach(w -> order1.add(w.index)));
        assertNotEquals(order0, order1, "epochs 0 and 1 shuffle differently");
        assertEquals(new HashSet<>(order0), new HashSet<>(order1));
        // The same epoch and seed give the same order again.
        List<Long> again = new ArrayList<>();
        TestSpark.byPartition(TrainingWindows.build(data, base.withEpoch(0)).train())
                .forEach(part -> part.forEach(w -> again.add(w.index)));
        assertEquals(order0, again);
    }

    /**
     * Answer flags travel with their tokens: chunks cut documents in 3s and windows (stride 5, 8 tokens) cross
     * document boundaries, yet each window's flags are those of its stream positions; separators are never answers.
     */
    @Test
    void answerFlagsFollowTheirTokensThroughWindows() throws IOException {
        String spec = "synthetic:associative-recall?documents=60&pairs=3&keys=10&values=10&seed=5";
        io.ssmspark.data.synthetic.SyntheticCorpus corpus = io.ssmspark.data.synthetic.SyntheticCorpora.create(
                "associative-recall",
                java.util.Map.of("documents", "60", "pairs", "3", "keys", "10", "values", "10", "seed", "5"));
        SourceData data = Sources.read(
                spark, spec, ReadOptions.defaults().withPartitions(2).withMaxChunkTokens(3));
        TrainingWindows tw = TrainingWindows.build(
                data,
                WindowOptions.of(7)
                        .withStride(5)
                        .withValidationFraction(0.3)
                        .withSeed(2)
                        .withPartitions(3));
        for (boolean validation : new boolean[] {false, true}) {
            List<Integer> tokens = new ArrayList<>();
            List<Boolean> answers = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                boolean isValidation = Hashing.unitInterval(Hashing.hashId("associative-recall-" + i)) < 0.3;
                if (isValidation == validation) {
                    io.ssmspark.data.synthetic.SyntheticDocument d = corpus.generate(i);
                    for (int t = 0; t < d.tokens.length; t++) {
                        tokens.add(d.tokens[t]);
                        answers.add(d.answers[t]);
                    }
                    tokens.add(corpus.vocabulary().separatorId());
                    answers.add(false);
                }
            }
            List<Window> ws = sortedByIndex((validation ? tw.validation() : tw.train()).collect());
            assertTrue(ws.size() > 10, ws.size() + " windows");
            long flagged = 0;
            for (Window w : ws) {
                int start = (int) w.index * 5;
                for (int i = 0; i < 8; i++) {
                    assertEquals(tokens.get(start + i), w.tokens[i], "window " + w.index + " token " + i);
                    assertEquals(answers.get(start + i), w.answers[i], "window " + w.index + " answer flag " + i);
                    flagged += w.answers[i] ? 1 : 0;
                }
            }
            assertTrue(flagged > 0, "some answers in the " + (validation ? "validation" : "training") + " windows");
        }
        SourceData genome = Sources.read(spark, "synthetic:genome?documents=3&length=50", ReadOptions.defaults());
        for (Window w :
                TrainingWindows.build(genome, WindowOptions.of(16)).train().collect()) {
            assertEquals(null, w.answers, "a corpus without answers gives windows without flags");
        }
    }

    @Test
    void validationSplitFollowsTheIdHash() throws IOException {
        SourceData data =
                Sources.read(spark, "synthetic:selective-copy?documents=200&length=10&count=3", ReadOptions.defaults());
        TrainingWindows tw =
                TrainingWindows.build(data, WindowOptions.of(14).withStride(15).withValidationFraction(0.3));
        long expectedValidation = 0;
        for (int i = 0; i < 200; i++) {
            if (Hashing.unitInterval(Hashing.hashId("selective-copy-" + i)) < 0.3) {
                expectedValidation++;
            }
        }
        assertEquals(expectedValidation, tw.validationCounts().documents);
        assertEquals(200 - expectedValidation, tw.trainCounts().documents);
        assertTrue(expectedValidation > 40 && expectedValidation < 80, "about 30% of 200: " + expectedValidation);
        // Each document is 10 + 1 + 3 = 14 tokens + separator (66): windows of 15 with stride 15 are
        // exactly one document each.
        assertEquals(expectedValidation, tw.validationCounts().windows);
        assertEquals(0, tw.validationCounts().droppedTailTokens);
        for (Window w : tw.validation().collect()) {
            assertEquals(15, w.tokens.length);
            assertEquals(66, w.tokens[14]);
            assertEquals(14, Arrays.stream(w.tokens).filter(t -> t != 66).count());
        }
    }

    @Test
    void segmentsHaveExactBoundariesAndSpreadLayout() throws IOException {
        for (int p : new int[] {1, 2, 5}) {
            SourceData data = Sources.read(spark, tokenDir, tokens(p));
            // Segment length 4: lengths 5 -> [4, 1], 3 -> [3] (shorter than a segment: whole), 9 -> [4, 4, 1].
            Segments s = Segments.cut(data, 4, 3);
            assertEquals(3, s.sequenceCount());
            assertEquals(17, s.tokenCount());
            assertEquals(6, s.segmentCount());
            List<List<Segment>> parts = TestSpark.byPartition(s.segments());
            assertEquals(3, parts.size());
            // Global segment numbers 0..5 in order doc0#0, doc0#1, doc1#0, doc2#0, doc2#1, doc2#2; g mod 3.
            assertEquals(List.of("doc0.bin#0/2@0+4", "doc2.bin#0/3@0+4"), names(parts.get(0)));
            assertEquals(List.of("doc0.bin#1/2@4+1", "doc2.bin#1/3@4+4"), names(parts.get(1)));
            assertEquals(List.of("doc1.bin#0/1@0+3", "doc2.bin#2/3@8+1"), names(parts.get(2)));
            for (List<Segment> part : parts) {
                for (Segment seg : part) {
                    int[] doc =
                            DOCS[seg.sequenceId.endsWith("doc0.bin") ? 0 : seg.sequenceId.endsWith("doc1.bin") ? 1 : 2];
                    assertEquals(doc.length, seg.sequenceLength);
                    assertArrayEquals(
                            Arrays.copyOfRange(doc, (int) seg.startOffset, (int) seg.startOffset + seg.tokens.length),
                            seg.tokens);
                }
            }
        }
    }

    @Test
    void segmentLengthNeedNotBeAMultipleOfAnything() throws IOException {
        // 7-token segments from 3-token chunks of 250-token genomes: 36 segments each, the last of 5 tokens.
        List<List<String>> layouts = new ArrayList<>();
        for (int p : new int[] {1, 2, 5}) {
            SourceData data = Sources.read(
                    spark,
                    "synthetic:genome?documents=3&length=250",
                    ReadOptions.defaults().withPartitions(p).withMaxChunkTokens(3));
            Segments s = Segments.cut(data, 7, 4);
            assertEquals(3 * 36, s.segmentCount());
            List<String> layout = new ArrayList<>();
            List<List<Segment>> parts = TestSpark.byPartition(s.segments());
            assertEquals(
                    List.of(27, 27, 27, 27), parts.stream().map(List::size).toList(), "108 segments over 4 partitions");
            for (List<Segment> part : parts) {
                for (Segment seg : part) {
                    assertEquals(seg.segmentIndex == 35 ? 5 : 7, seg.tokens.length);
                    layout.add(seg + Arrays.toString(seg.tokens));
                }
                layout.add("|");
            }
            layouts.add(layout);
        }
        assertEquals(layouts.get(0), layouts.get(1));
        assertEquals(layouts.get(0), layouts.get(2));
        // Cross-check against the generator directly.
        io.ssmspark.data.synthetic.SyntheticCorpus genome = io.ssmspark.data.synthetic.SyntheticCorpora.create(
                "genome", java.util.Map.of("documents", "3", "length", "250"));
        String expected = "genome-1#3/36@21+7" + Arrays.toString(Arrays.copyOfRange(genome.generate(1).tokens, 21, 28));
        assertTrue(layouts.get(0).contains(expected), expected);
    }

    private static List<String> names(List<Segment> segments) {
        List<String> out = new ArrayList<>();
        for (Segment s : segments) {
            String id = s.sequenceId.substring(s.sequenceId.lastIndexOf('/') + 1);
            out.add(id + "#" + s.segmentIndex + "/" + s.segmentCount + "@" + s.startOffset + "+" + s.tokens.length);
        }
        return out;
    }
}
