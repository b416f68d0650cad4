package io.ssmspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.data.synthetic.SyntheticCorpora;
import io.ssmspark.data.synthetic.SyntheticCorpus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every format written and read back gives the same sequences, for several partition counts. */
class FormatRoundTripTest {
    @TempDir
    static java.nio.file.Path dir;

    static SparkSession spark;
    static final Configuration CONF = new Configuration();

    @BeforeAll
    static void setUp() {
        spark = TestSpark.session();
    }

    static int[] bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] t = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            t[i] = b[i] & 0xff;
        }
        return t;
    }

    static String uri(java.nio.file.Path p) {
        return p.toUri().toString();
    }

    static List<TokenSequence> genomes(int n, int length) {
        SyntheticCorpus c = SyntheticCorpora.create("genome", Map.of("documents", "" + n, "length", "" + length));
        List<TokenSequence> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new TokenSequence("chr" + i, c.generate(i).tokens));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5})
    void textOneDocumentPerFile(int partitions) throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("text-files-" + partitions));
        String[] docs = {"Grüße aus Köln — 東京\n", "plain ascii", "emoji 🙂 and\r\nCRLF kept in file mode"};
        for (int i = 0; i < docs.length; i++) {
            SequenceWriters.writeTextFile(new Path(d.resolve("doc" + i + ".txt").toString()), bytes(docs[i]), CONF);
        }
        Files.writeString(d.resolve("_SUCCESS"), "");
        SourceData data = Sources.read(
                spark,
                d.toString(),
                ReadOptions.defaults().withPartitions(partitions).withMaxChunkTokens(4));
        assertEquals(Vocabulary.bytes(), data.vocabulary());
        List<TokenSequence> seqs = data.collectSequences();
        assertEquals(3, seqs.size());
        for (int i = 0; i < docs.length; i++) {
            assertEquals(
                    new Path(d.resolve("doc" + i + ".txt").toString())
                            .makeQualified(
                                    new Path(d.toString()).getFileSystem(CONF).getUri(), null)
                            .toString(),
                    seqs.get(i).sequenceId);
            assertArrayEquals(bytes(docs[i]), seqs.get(i).tokens, docs[i]);
        }
        assertEquals(3, data.report().files());
        long total = 0;
        for (String s : docs) {
            total += s.getBytes(StandardCharsets.UTF_8).length;
        }
        assertEquals(total, data.report().tokens());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5})
    void textOneDocumentPerLineWithGlob(int partitions) throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("text-lines-" + partitions));
        // CRLF endings lose the CR; blank lines are empty records; the last line has no newline.
        Files.write(d.resolve("a.txt"), "first line\r\nzweite Zeile ä\n\nthird\n".getBytes(StandardCharsets.UTF_8));
        Files.write(d.resolve("b.txt"), "b-one\nb-two — ok".getBytes(StandardCharsets.UTF_8));
        Files.write(d.resolve("c.log"), "not matched by the glob\n".getBytes(StandardCharsets.UTF_8));
        SourceData data = Sources.read(
                spark,
                d + "/*.txt",
                ReadOptions.defaults()
                        .withTextMode(TextMode.LINE)
                        .withPartitions(partitions)
                        .withMaxChunkTokens(3));
        List<TokenSequence> seqs = data.collectSequences();
        String[] expected = {"first line", "zweite Zeile ä", "third", "b-one", "b-two — ok"};
        assertEquals(expected.length, seqs.size());
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(bytes(expected[i]), seqs.get(i).tokens, expected[i]);
        }
        assertEquals(true, seqs.get(1).sequenceId.endsWith("a.txt@12"), seqs.get(1).sequenceId);
        assertEquals(1, data.report().emptyRecords());
        assertEquals(6, data.report().records());
        assertEquals(2, data.report().files());
    }

    @Test
    void gzipTextIsDecompressedWithDecompressedOffsets() throws IOException {
        java.nio.file.Path f = dir.resolve("lines.txt.gz");
        try (var out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(f))) {
            out.write("one\ntwo two\n\u00fc\n".getBytes(StandardCharsets.UTF_8));
        }
        SourceData data = Sources.read(
                spark,
                f.toString(),
                ReadOptions.defaults().withTextMode(TextMode.LINE).withPartitions(3));
        List<TokenSequence> seqs = data.collectSequences();
        assertEquals(3, seqs.size());
        assertArrayEquals(bytes("two two"), seqs.get(1).tokens);
        assertEquals(true, seqs.get(1).sequenceId.endsWith("lines.txt.gz@4"), seqs.get(1).sequenceId);
        assertArrayEquals(bytes("\u00fc"), seqs.get(2).tokens);
    }

    @ParameterizedTest
    @ValueSource(strings = {"genome.fa", "genome.fa.gz"})
    void fastaAndGzipFasta(String name) throws IOException {
        List<TokenSequence> seqs = genomes(4, 333);
        Path file = new Path(dir.resolve(name).toString());
        SequenceWriters.writeFasta(file, seqs, 60, CONF);
        SourceData data = Sources.read(
                spark,
                file.toString(),
                ReadOptions.defaults().withFormat(InputFormat.FASTA).withMaxChunkTokens(50));
        assertEquals(Vocabulary.dna(), data.vocabulary());
        assertEquals(seqs, data.collectSequences());
        assertEquals(4 * 333, data.report().tokens());
    }

    @Test
    void fastaFoldsCaseMapsIupacToNAndSkipsCommentsAndBlankLines() throws IOException {
        java.nio.file.Path f = dir.resolve("mixed.fasta");
        Files.writeString(f, ";comment\n\n>seq1 description here\nacgtN\r\nRYKM\n>seq2\n\n>seq3\nTTTT");
        SourceData data =
                Sources.read(spark, f.toString(), ReadOptions.defaults().withFormat(InputFormat.FASTA));
        List<TokenSequence> seqs = data.collectSequences();
        assertEquals(2, seqs.size());
        assertEquals(new TokenSequence("seq1", new int[] {0, 1, 2, 3, 4, 4, 4, 4, 4}), seqs.get(0));
        assertEquals(new TokenSequence("seq3", new int[] {3, 3, 3, 3}), seqs.get(1));
        assertEquals(1, data.report().emptyRecords(), "seq2 has no sequence");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5})
    void tokensU16OneSequencePerFile(int partitions) throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("u16-" + partitions));
        int[] a = new int[1001];
        int[] b = new int[7];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i * 7919) % 65536;
        }
        b[6] = 65535;
        SequenceWriters.writeTokens(new Path(d.resolve("a.u16").toString()), a, InputFormat.TOKENS_U16, CONF);
        SequenceWriters.writeTokens(new Path(d.resolve("b.u16").toString()), b, InputFormat.TOKENS_U16, CONF);
        // Read through a file:// URI: any Hadoop URI works the same way.
        SourceData data = Sources.read(
                spark,
                uri(d),
                ReadOptions.defaults()
                        .withFormat(InputFormat.TOKENS_U16)
                        .withVocabSize(65536)
                        .withPartitions(partitions)
                        .withMaxChunkTokens(64));
        List<TokenSequence> seqs = data.collectSequences();
        assertEquals(2, seqs.size());
        assertArrayEquals(a, seqs.get(0).tokens);
        assertArrayEquals(b, seqs.get(1).tokens);
        assertEquals(1008, data.report().tokens());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5})
    void tokensI32SplitOnSeparator(int partitions) throws IOException {
        List<int[]> seqs = new ArrayList<>();
        for (int s = 0; s < 9; s++) {
            int[] t = new int[s * 5 + 1];
            for (int i = 0; i < t.length; i++) {
                t[i] = 100_000 + s * 1000 + i;
            }
            seqs.add(t);
        }
        Path file = new Path(dir.resolve("split-" + partitions + ".i32").toString());
        SequenceWriters.writeTokenSequences(file, seqs, InputFormat.TOKENS_I32, 7, CONF);
        SourceData data = Sources.read(
                spark,
                file.toString(),
                ReadOptions.defaults()
                        .withFormat(InputFormat.TOKENS_I32)
                        .withVocabSize(200_000)
                        .withSeparatorToken(7)
                        .withSplitOnSeparator(true)
                        .withPartitions(partitions)
                        .withMaxChunkTokens(4));
        List<TokenSequence> read = data.collectSequences();
        assertEquals(9, read.size());
        long offset = 0;
        for (int s = 0; s < 9; s++) {
            assertArrayEquals(seqs.get(s), read.get(s).tokens, "sequence " + s);
            assertEquals(file.getFileSystem(CONF).makeQualified(file) + "@" + offset, read.get(s).sequenceId);
            offset += 4L * (seqs.get(s).length + 1);
        }
        assertEquals(Vocabulary.tokens(200_000, 7), data.vocabulary());
    }

    @Test
    void parquetWithStringAndIntegerIds() throws IOException {
        List<TokenSequence> seqs = new ArrayList<>();
        for (int s = 0; s < 12; s++) {
            int[] t = new int[s + 1];
            for (int i = 0; i < t.length; i++) {
                t[i] = s * 10 + i;
            }
            seqs.add(new TokenSequence("doc-" + (char) ('a' + s), t));
        }
        String path = dir.resolve("parquet-string").toString();
        SequenceWriters.writeParquet(spark, path, seqs, "doc_id", "ids");
        SourceData data = Sources.read(
                spark,
                path,
                ReadOptions.defaults()
                        .withFormat(InputFormat.PARQUET)
                        .withVocabSize(256)
                        .withIdColumn("doc_id")
                        .withTokenColumn("ids")
                        .withPartitions(3)
                        .withMaxChunkTokens(5));
        assertEquals(seqs, data.collectSequences());

        String intPath = dir.resolve("parquet-int").toString();
        spark.sql("SELECT CAST(id AS INT) AS id, array(CAST(id AS INT), 5, 6) AS tokens FROM range(4)")
                .coalesce(1)
                .write()
                .parquet(intPath);
        List<TokenSequence> read = Sources.read(
                        spark,
                        intPath,
                        ReadOptions.defaults().withFormat(InputFormat.PARQUET).withVocabSize(10))
                .collectSequences();
        assertEquals(
                List.of(
                        new TokenSequence("0", new int[] {0, 5, 6}),
                        new TokenSequence("1", new int[] {1, 5, 6}),
                        new TokenSequence("2", new int[] {2, 5, 6}),
                        new TokenSequence("3", new int[] {3, 5, 6})),
                read);
    }

    @Test
    void textExportedAsTokenShardsReadsBackWithItsStoredVocabulary() throws IOException {
        java.nio.file.Path f = dir.resolve("export-source.txt");
        String[] lines = {"alpha", "beta gamma", "δέλτα", "e", "the fifth line"};
        Files.writeString(f, String.join("\n", lines) + "\n");
        SourceData text = Sources.read(
                spark,
                f.toString(),
                ReadOptions.defaults()
                        .withTextMode(TextMode.LINE)
                        .withPartitions(2)
                        .withMaxChunkTokens(3));
        String shards = dir.resolve("shards").toString();
        long written = SequenceWriters.writeTokenShards(text, shards, InputFormat.TOKENS_U16, 3);
        assertEquals(text.report().tokens() + lines.length, written);
        try (var listing = Files.list(dir.resolve("shards"))) {
            List<String> names = listing.map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith("."))
                    .sorted()
                    .toList();
            assertEquals("vocab.json", names.get(names.size() - 1));
            assertEquals(true, names.size() >= 2 && names.get(0).startsWith("part-0000"), names.toString());
        }
        // No vocabulary options: size 257 and separator 256 come from vocab.json, which is not read as data.
        SourceData back = Sources.read(
                spark,
                shards,
                ReadOptions.defaults()
                        .withFormat(InputFormat.TOKENS_U16)
                        .withSplitOnSeparator(true)
                        .withPartitions(4));
        assertEquals(Vocabulary.bytes(), back.vocabulary());
        List<TokenSequence> seqs = back.collectSequences();
        assertEquals(lines.length, seqs.size());
        for (int i = 0; i < lines.length; i++) {
            assertEquals(lines[i], ByteTokenizer.decode(seqs.get(i).tokens, "|"));
        }
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> Sources.read(
                        spark,
                        shards,
                        ReadOptions.defaults()
                                .withFormat(InputFormat.TOKENS_U16)
                                .withVocabSize(300)));
        assertEquals(
                true,
                e.getMessage().contains("vocab.json gives vocabulary size 257, but the options give 300"),
                e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"associative-recall", "induction-copy", "selective-copy", "genome", "log-stream"})
    void syntheticSourceMatchesThePlainJavaCorpusAndSurvivesTokenFiles(String name) throws IOException {
        SyntheticCorpus corpus = SyntheticCorpora.create(name, Map.of("documents", "6", "seed", "3"));
        SourceData data = Sources.read(
                spark,
                "synthetic:" + name + "?documents=6&seed=3",
                ReadOptions.defaults().withPartitions(4).withMaxChunkTokens(5));
        assertEquals(corpus.vocabulary(), data.vocabulary());
        List<TokenSequence> seqs = data.collectSequences();
        assertEquals(6, seqs.size());
        for (int i = 0; i < 6; i++) {
            assertEquals(name + "-" + i, seqs.get(i).sequenceId);
            assertArrayEquals(corpus.documents().get(i), seqs.get(i).tokens);
        }
        // Exported as a separator-split token file with vocab.json beside it, it reads back the same.
        java.nio.file.Path out = Files.createDirectories(dir.resolve("export-" + name));
        Path file = new Path(out.resolve("corpus.u16").toString());
        Vocabulary v = data.vocabulary();
        SequenceWriters.writeTokenSequences(file, corpus.documents(), InputFormat.TOKENS_U16, v.separatorId(), CONF);
        v.writeTo(new Path(out.toString()), CONF);
        Vocabulary stored = Vocabulary.readFrom(new Path(out.toString()), CONF);
        assertEquals(v, stored);
        List<TokenSequence> back = Sources.read(
                        spark,
                        file.toString(),
                        ReadOptions.defaults()
                                .withFormat(InputFormat.TOKENS_U16)
                                .withVocabSize(stored.size())
                                .withSeparatorToken(stored.separatorId())
                                .withSplitOnSeparator(true)
                                .withPartitions(3))
                .collectSequences();
        assertEquals(6, back.size());
        for (int i = 0; i < 6; i++) {
            assertArrayEquals(corpus.documents().get(i), back.get(i).tokens);
        }
    }
}
