package io.ssmspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each kind of bad input gives one clear error naming the file and offset; with skipping on, the
 * run goes on, leaves out exactly the bad record, and reports it.
 */
class BadInputTest {
    @TempDir
    static java.nio.file.Path dir;

    static SparkSession spark;
    static final Configuration CONF = new Configuration();

    @BeforeAll
    static void setUp() {
        spark = TestSpark.session();
    }

    static ReadOptions i32(int vocab) {
        return ReadOptions.defaults().withFormat(InputFormat.TOKENS_I32).withVocabSize(vocab);
    }

    static void assertMentions(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "message should contain '" + p + "': " + message);
        }
    }

    @Test
    void missingPath() {
        String missing = dir.resolve("no-such-dir/corpus-*.txt").toString();
        FileNotFoundException e = assertThrows(
                FileNotFoundException.class,
                () -> Sources.read(spark, missing, ReadOptions.defaults().withSkipBadRecords(true)));
        assertMentions(e.getMessage(), missing, "no such file or directory");
    }

    @Test
    void emptyFile() throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("empty"));
        Files.write(d.resolve("a-empty.txt"), new byte[0]);
        Files.writeString(d.resolve("b-good.txt"), "hello");
        BadRecordException e =
                assertThrows(BadRecordException.class, () -> Sources.read(spark, d.toString(), ReadOptions.defaults()));
        assertMentions(e.getMessage(), "a-empty.txt: at byte offset 0: empty file");

        SourceData data =
                Sources.read(spark, d.toString(), ReadOptions.defaults().withSkipBadRecords(true));
        assertEquals(1, data.report().skippedRecords());
        assertEquals(1, data.report().documents());
        assertEquals(2, data.report().records());
        assertMentions(data.report().badExamples().get(0).message(), "a-empty.txt", "empty file");
        assertArrayEquals(
                FormatRoundTripTest.bytes("hello"), data.collectSequences().get(0).tokens);
    }

    @Test
    void oddByteCountInAUint16File() throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("odd"));
        Files.write(d.resolve("bad.u16"), new byte[2001]);
        SequenceWriters.writeTokens(
                new Path(d.resolve("good.u16").toString()), new int[] {1, 2, 3}, InputFormat.TOKENS_U16, CONF);
        ReadOptions u16 =
                ReadOptions.defaults().withFormat(InputFormat.TOKENS_U16).withVocabSize(10);
        BadRecordException e = assertThrows(BadRecordException.class, () -> Sources.read(spark, d.toString(), u16));
        assertMentions(e.getMessage(), "bad.u16: at byte offset 2000: file length 2001 is not a multiple of 2 bytes");

        SourceData data = Sources.read(spark, d.toString(), u16.withSkipBadRecords(true));
        assertEquals(1, data.report().skippedRecords());
        assertEquals(
                List.of(new TokenSequence(data.collectSequences().get(0).sequenceId, new int[] {1, 2, 3})),
                data.collectSequences());
        assertTrue(data.collectSequences().get(0).sequenceId.endsWith("good.u16"));
    }

    @Test
    void tokenOutsideTheVocabularyFailsInsideASparkTaskAndComesBackUnwrapped() throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("range"));
        int[] big = new int[5000];
        big[4321] = 100; // vocabulary is [0, 100)
        SequenceWriters.writeTokens(new Path(d.resolve("a.i32").toString()), big, InputFormat.TOKENS_I32, CONF);
        SequenceWriters.writeTokens(
                new Path(d.resolve("b.i32").toString()), new int[] {7, 8, 9}, InputFormat.TOKENS_I32, CONF);
        BadRecordException e = assertThrows(
                BadRecordException.class, () -> Sources.read(spark, d.toString(), i32(100).withPartitions(5)));
        assertMentions(
                e.getMessage(),
                "a.i32: at byte offset 17284: token id 100 outside the vocabulary [0, 100)",
                "--skip-bad-records");
        assertEquals(4321L * 4, e.record().offset);

        // With skipping, the whole one-sequence file is its record: left out, even though the other
        // splits of that file were good; b.i32 survives.
        SourceData data =
                Sources.read(spark, d.toString(), i32(100).withPartitions(5).withSkipBadRecords(true));
        assertEquals(1, data.report().skippedRecords());
        List<TokenSequence> seqs = data.collectSequences();
        assertEquals(1, seqs.size());
        assertArrayEquals(new int[] {7, 8, 9}, seqs.get(0).tokens);
        assertEquals(3, data.report().tokens());
        // Windows and segments see only the good sequence.
        assertEquals(
                1,
                Segments.cut(data, 2, 2)
                        .segments()
                        .filter(s -> s.tokens[0] == 9)
                        .count());
    }

    @Test
    void badTokenInASeparatorSplitFileSpoilsOnlyItsSequence() throws IOException {
        Path file = new Path(dir.resolve("split.i32").toString());
        SequenceWriters.writeTokenSequences(
                file, List.of(new int[] {1, 2}, new int[] {3, -4, 5}, new int[] {6}), InputFormat.TOKENS_I32, 0, CONF);
        ReadOptions opts = i32(10).withSeparatorToken(0).withSplitOnSeparator(true);
        BadRecordException e = assertThrows(BadRecordException.class, () -> Sources.read(spark, file.toString(), opts));
        // Sequence 2 starts at byte 12 (after 1 2 0); -4 is its second token, at byte 16.
        assertMentions(
                e.getMessage(),
                "split.i32: at byte offset 16: token id -4 outside the vocabulary [0, 10)",
                "record starting at byte offset 12");
        SourceData data = Sources.read(
                spark, file.toString(), opts.withSkipBadRecords(true).withPartitions(2));
        List<TokenSequence> seqs = data.collectSequences();
        assertEquals(2, seqs.size());
        assertArrayEquals(new int[] {1, 2}, seqs.get(0).tokens);
        assertArrayEquals(new int[] {6}, seqs.get(1).tokens);
        assertEquals(1, data.report().skippedRecords());
        assertEquals(3, data.report().records());
    }

    @Test
    void invalidFastaLine() throws IOException {
        java.nio.file.Path f = dir.resolve("bad.fa");
        Files.writeString(f, ">a\nACGT\nAC-GT\n>b first\nGGG\n");
        ReadOptions fasta = ReadOptions.defaults().withFormat(InputFormat.FASTA);
        BadRecordException e = assertThrows(BadRecordException.class, () -> Sources.read(spark, f.toString(), fasta));
        assertMentions(
                e.getMessage(),
                "bad.fa: at byte offset 10: invalid FASTA sequence character '-'",
                "record 'a' at byte offset 0");
        SourceData data = Sources.read(spark, f.toString(), fasta.withSkipBadRecords(true));
        assertEquals(List.of(new TokenSequence("b", new int[] {2, 2, 2})), data.collectSequences());
        assertEquals(1, data.report().skippedRecords());

        java.nio.file.Path orphan = dir.resolve("orphan.fa");
        Files.writeString(orphan, "ACGT\n>x\nA\n");
        BadRecordException e2 =
                assertThrows(BadRecordException.class, () -> Sources.read(spark, orphan.toString(), fasta));
        assertMentions(e2.getMessage(), "orphan.fa: at byte offset 0: sequence line before the first '>' header");
    }

    @Test
    void parquetColumnOfTheWrongType() throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("pq"));
        spark.sql("SELECT 'x' AS id, 'not an array' AS tokens FROM range(1)")
                .coalesce(1)
                .write()
                .parquet(d.resolve("a").toString());
        spark.sql("SELECT 'y' AS id, array(1, 2) AS tokens FROM range(1)")
                .coalesce(1)
                .write()
                .parquet(d.resolve("b").toString());
        ReadOptions pq = ReadOptions.defaults().withFormat(InputFormat.PARQUET).withVocabSize(5);
        BadRecordException e = assertThrows(BadRecordException.class, () -> Sources.read(spark, d.toString(), pq));
        assertMentions(
                e.getMessage(),
                d.resolve("a").toString(),
                ".parquet: at row offset 0: token column 'tokens'",
                "has type string, expected array<int>");
        SourceData data = Sources.read(spark, d.toString(), pq.withSkipBadRecords(true));
        assertEquals(List.of(new TokenSequence("y", new int[] {1, 2})), data.collectSequences());
        assertEquals(1, data.report().skippedRecords());

        IOException missing = assertThrows(
                BadRecordException.class,
                () -> Sources.read(spark, d.resolve("b").toString(), pq.withTokenColumn("ids")));
        assertMentions(missing.getMessage(), "no token column 'ids'", "[id, tokens]");
    }

    @Test
    void parquetTokenOutsideTheVocabularyNamesTheRow() throws IOException {
        String path = dir.resolve("pq-range").toString();
        spark.sql("SELECT CAST(id AS STRING) AS id, array(1, CAST(id AS INT)) AS tokens FROM range(6)")
                .coalesce(1)
                .write()
                .parquet(path);
        ReadOptions pq = ReadOptions.defaults().withFormat(InputFormat.PARQUET).withVocabSize(5);
        BadRecordException e = assertThrows(BadRecordException.class, () -> Sources.read(spark, path, pq));
        assertMentions(e.getMessage(), "at row offset 5: token column 'tokens': element 1 is token id 5");
        SourceData data = Sources.read(spark, path, pq.withSkipBadRecords(true));
        assertEquals(5, data.report().documents());
        assertEquals(1, data.report().skippedRecords());
    }

    @Test
    void invalidUtf8InLineModeSkipsOnlyThatLineAndReportsTheFirstFew() throws IOException {
        java.nio.file.Path f = dir.resolve("utf8.txt");
        StringBuilder good = new StringBuilder();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        bytes.write("ok line\n".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < 7; i++) {
            bytes.write(new byte[] {'x', (byte) 0xC3, '\n'}); // 0xC3 needs a continuation byte
        }
        bytes.write("fin\u00e9\n".getBytes(StandardCharsets.UTF_8));
        Files.write(f, bytes.toByteArray());
        // One task: a failing run stops at the first bad record of the task that meets one first, so
        // with one task it is the first bad record of the file.
        ReadOptions lines = ReadOptions.defaults().withTextMode(TextMode.LINE).withPartitions(1);
        BadRecordException e = assertThrows(BadRecordException.class, () -> Sources.read(spark, f.toString(), lines));
        assertMentions(
                e.getMessage(),
                "utf8.txt: at byte offset 10: invalid UTF-8: input ends inside a character",
                "record starting at byte offset 8");
        SourceData data =
                Sources.read(spark, f.toString(), lines.withSkipBadRecords(true).withPartitions(3));
        ReadReport r = data.report();
        assertEquals(2, r.documents());
        assertEquals(7, r.skippedRecords());
        assertEquals(9, r.records());
        assertEquals(5, r.badExamples().size());
        assertEquals(8, r.badExamples().get(0).offset - 2);
        assertEquals(
                List.of(11L, 14L, 17L, 20L),
                r.badExamples().subList(1, 5).stream().map(b -> b.offset - 2).toList());
        assertMentions(r.summary(), "7 bad record(s) skipped", "skipped: ", "... and 2 more");
        assertEquals(2, data.collectSequences().size());
    }

    @Test
    void tokenFormatsNeedAVocabularySize() throws IOException {
        java.nio.file.Path f = Files.write(dir.resolve("no-vocab.u16"), new byte[] {1, 0, 2, 0});
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Sources.read(spark, f.toString(), ReadOptions.defaults().withFormat(InputFormat.TOKENS_U16)));
        assertMentions(e.getMessage(), "tokens-u16 needs the vocabulary size");
    }
}
