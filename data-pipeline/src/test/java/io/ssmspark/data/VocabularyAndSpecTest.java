package io.ssmspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Vocabulary files, data specs, the DNA tokenizer and the seeded permutation (no Spark). */
class VocabularyAndSpecTest {
    @TempDir
    java.nio.file.Path dir;

    @Test
    void byteAndDnaVocabulariesAreAsDocumented() {
        Vocabulary b = Vocabulary.bytes();
        assertEquals(257, b.size());
        assertEquals(256, b.separatorId());
        assertTrue(b.contains(255) && b.contains(256) && !b.contains(257) && !b.contains(-1));
        Vocabulary d = Vocabulary.dna();
        assertEquals(6, d.size());
        assertEquals(5, d.separatorId());
        assertEquals(Map.of("A", 0, "C", 1, "G", 2, "T", 3, "N", 4, "<sep>", 5), d.specialTokens());
    }

    @Test
    void vocabularyRoundTripsThroughVocabJson() throws IOException {
        Configuration conf = new Configuration();
        for (Vocabulary v : new Vocabulary[] {
            Vocabulary.bytes(), Vocabulary.dna(), Vocabulary.tokens(50_000, 0), Vocabulary.tokens(300, -1)
        }) {
            Path d = new Path(dir.resolve(v.name() + v.size()).toString());
            Path file = v.writeTo(d, conf);
            assertEquals(Vocabulary.FILE_NAME, file.getName());
            assertEquals(v, Vocabulary.readFrom(d, conf));
        }
        String json = Vocabulary.bytes().toJson();
        assertTrue(json.contains("\"kind\" : \"byte\"") && json.contains("\"size\" : 257"), json);
    }

    @Test
    void modelVocabularyCheck() {
        Vocabulary.bytes().requireFitsModel(257);
        Vocabulary.bytes().requireFitsModel(264);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Vocabulary.bytes().requireFitsModel(256));
        assertEquals(
                "data vocabulary 'byte' (byte) needs 257 token ids but the model config has vocab_size 256",
                e.getMessage());
    }

    @Test
    void badVocabularyFilesNameTheFileAndField() throws IOException {
        java.nio.file.Path d = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(
                d.resolve("vocab.json"), "{\"kind\":\"byte\",\"name\":\"byte\",\"size\":\"lots\",\"separator_id\":1}");
        IOException e =
                assertThrows(IOException.class, () -> Vocabulary.readFrom(new Path(d.toString()), new Configuration()));
        assertTrue(
                e.getMessage().contains("vocab.json: field 'size' must be an integer, found \"lots\""), e.getMessage());
        Files.writeString(d.resolve("vocab.json"), "{\"kind\":\"words\",\"name\":\"x\",\"size\":3,\"separator_id\":1}");
        e = assertThrows(IOException.class, () -> Vocabulary.readFrom(new Path(d.toString()), new Configuration()));
        assertTrue(e.getMessage()
                .contains("field 'kind' must be one of byte, dna, tokens, synthetic, tokenizer; found 'words'"));
        Files.writeString(
                d.resolve("vocab.json"), "{\"kind\":\"tokens\",\"name\":\"x\",\"size\":3,\"separator_id\":3}");
        e = assertThrows(IOException.class, () -> Vocabulary.readFrom(new Path(d.toString()), new Configuration()));
        assertTrue(e.getMessage().contains("separator id must be -1 (none) or in [0, 3), found 3"), e.getMessage());
        assertThrows(
                java.io.FileNotFoundException.class,
                () -> Vocabulary.readFrom(new Path(dir.resolve("none").toString()), new Configuration()));
    }

    @Test
    void dataSpecsAndFormats() {
        DataSpec s = DataSpec.parse("synthetic:genome?documents=5&seed=9");
        assertTrue(s.isSynthetic());
        assertEquals("genome", s.syntheticName());
        assertEquals(Map.of("documents", "5", "seed", "9"), s.parameters());
        DataSpec p = DataSpec.parse("s3a://bucket/corpus/*.txt");
        assertFalse(p.isSynthetic());
        assertEquals("s3a://bucket/corpus/*.txt", p.path());
        assertThrows(IllegalArgumentException.class, () -> DataSpec.parse("synthetic:"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> DataSpec.parse("synthetic:genome?documents"));
        assertTrue(e.getMessage().contains("parameter 'documents' is not of the form key=value"));
        assertEquals(InputFormat.TOKENS_U16, InputFormat.parse("tokens-u16"));
        assertEquals(2, InputFormat.TOKENS_U16.tokenWidthBytes());
        assertEquals(TextMode.LINE, TextMode.parse("line"));
        e = assertThrows(IllegalArgumentException.class, () -> InputFormat.parse("csv"));
        assertTrue(e.getMessage().contains("unknown input format 'csv'"));
    }

    @Test
    void dnaTokenizerFoldsCaseAndMapsIupacToN() {
        assertArrayEquals(
                new int[] {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4, 4, 4, 4}, DnaTokenizer.encode("ACGTNacgtnRYkmU"));
        assertEquals(-1, DnaTokenizer.tokenOf('-'));
        assertEquals(-1, DnaTokenizer.tokenOf('X'));
        assertEquals("ACGTN", DnaTokenizer.decode(new int[] {0, 1, 2, 3, 4}));
    }

    @Test
    void byteTokenizerRoundTripsUtf8AndShowsSeparators() {
        int[] t = ByteTokenizer.encode("añ");
        assertArrayEquals(new int[] {0x61, 0xC3, 0xB1}, t);
        assertEquals("añ|b", ByteTokenizer.decode(new int[] {0x61, 0xC3, 0xB1, 256, 0x62}, "|"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ByteTokenizer.decode(new int[] {1, 257}, ""));
        assertEquals("token 1 is 257, outside the byte vocabulary [0, 257)", e.getMessage());
    }

    @Test
    void seededPermutationIsABijectionThatDependsOnTheSeed() {
        for (int n : new int[] {1, 2, 3, 7, 64, 100, 257, 1000}) {
            SeededPermutation p = new SeededPermutation(n, 12345);
            boolean[] seen = new boolean[n];
            long fixedPoints = 0;
            for (int x = 0; x < n; x++) {
                long y = p.apply(x);
                assertTrue(y >= 0 && y < n);
                assertFalse(seen[(int) y], "value " + y + " twice for n=" + n);
                seen[(int) y] = true;
                fixedPoints += y == x ? 1 : 0;
            }
            if (n >= 100) {
                assertTrue(
                        fixedPoints < 10, "a shuffle, not the identity: " + fixedPoints + " fixed points for n=" + n);
            }
        }
        SeededPermutation a = new SeededPermutation(1000, 1);
        SeededPermutation b = new SeededPermutation(1000, 2);
        long[] ya = new long[1000];
        long[] yb = new long[1000];
        for (int x = 0; x < 1000; x++) {
            ya[x] = a.apply(x);
            yb[x] = b.apply(x);
        }
        assertNotEquals(java.util.Arrays.toString(ya), java.util.Arrays.toString(yb));
        assertEquals(ya[17], new SeededPermutation(1000, 1).apply(17));
    }
}
