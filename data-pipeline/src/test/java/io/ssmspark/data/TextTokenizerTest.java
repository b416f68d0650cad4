package io.ssmspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextTokenizerTest {
    static final String[] TEXTS = {
        "the cat sat and the cat", "Grüße aus Köln — 東京 🙂", "in the end" + TokenizerFixture.END_OF_TEXT + "then", "",
    };

    @TempDir
    java.nio.file.Path dir;

    @Test
    void idsAreTheLibrarysOwnEncode() throws IOException {
        java.nio.file.Path file = TokenizerFixture.write(dir);
        TextTokenizer t = TextTokenizer.load(dir);
        assertEquals(TokenizerFixture.vocabSize(), t.vocabSize());
        try (HuggingFaceTokenizer lib =
                HuggingFaceTokenizer.newInstance(file, Map.of("truncation", "false", "padding", "false"))) {
            for (String s : TEXTS) {
                long[] want = lib.encode(s).getIds();
                int[] got = t.encode(s);
                assertEquals(want.length, got.length, s);
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], s);
                }
                assertEquals(s, t.decode(got));
            }
        }
        // the merges are used: " the" is one token, "cat" after a space too
        int theId = 256 + 3;
        int[] ids = t.encode("the the");
        assertArrayEquals(new int[] {256 + 1, theId}, ids);
        assertEquals(" the", t.tokenText(theId));
        assertArrayEquals(new int[] {TokenizerFixture.vocabSize() - 1}, t.encode(TokenizerFixture.END_OF_TEXT));
    }

    @Test
    void longTextIsNotTruncated() throws IOException {
        TextTokenizer t = TextTokenizer.load(TokenizerFixture.write(dir));
        String text = "the cat sat ".repeat(1000);
        int[] ids = t.encode(text);
        assertTrue(ids.length >= 3000, "only " + ids.length + " ids"); // DJL's default would stop at 512
        assertEquals(text, t.decode(ids));
    }

    @Test
    void serializedCopyEncodesTheSame() throws Exception {
        TokenizerFixture.write(dir);
        TextTokenizer t = TextTokenizer.load(dir.resolve(TextTokenizer.FILE_NAME));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(t);
        }
        TextTokenizer.closeAll(); // the copy must build its own native tokenizer
        TextTokenizer copy;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            copy = (TextTokenizer) in.readObject();
        }
        assertArrayEquals(t.encode(TEXTS[0]), copy.encode(TEXTS[0]));
        assertEquals(t.vocabSize(), copy.vocabSize());
    }

    @Test
    void refusesAModelWithFewerIds() throws IOException {
        TextTokenizer t = TextTokenizer.load(TokenizerFixture.write(dir));
        t.requireFitsModel(TokenizerFixture.vocabSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.requireFitsModel(257));
        assertTrue(e.getMessage().contains("" + TokenizerFixture.vocabSize()), e.getMessage());
        assertTrue(e.getMessage().contains("vocab_size is 257"), e.getMessage());
    }

    @Test
    void missingAndBrokenFilesNamed() throws IOException {
        assertThrows(java.io.FileNotFoundException.class, () -> TextTokenizer.load(dir));
        java.nio.file.Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"model\": 3");
        IOException e = assertThrows(IOException.class, () -> TextTokenizer.load(bad));
        assertTrue(e.getMessage().contains("bad.json"), e.getMessage());
    }

    @Test
    void textInputIsTokenizedInSpark() throws IOException {
        TextTokenizer t = TextTokenizer.load(TokenizerFixture.write(dir.resolve("tok")));
        java.nio.file.Path data = Files.createDirectories(dir.resolve("text"));
        Files.writeString(data.resolve("a.txt"), "the cat sat\nGrüße and the cat\r\n\n", StandardCharsets.UTF_8);
        for (TextMode mode : TextMode.values()) {
            SourceData d = Sources.read(
                    TestSpark.session(),
                    data.toString(),
                    ReadOptions.defaults()
                            .withTextMode(mode)
                            .withTokenizer(t)
                            .withPartitions(3)
                            .withMaxChunkTokens(2));
            assertEquals(Vocabulary.tokenizer(t.vocabSize(), t.source()), d.vocabulary());
            List<TokenSequence> seqs = d.collectSequences();
            if (mode == TextMode.FILE) {
                assertEquals(1, seqs.size());
                assertArrayEquals(t.encode("the cat sat\nGrüße and the cat\r\n\n"), seqs.get(0).tokens);
            } else {
                // the empty last line is left out, as with byte tokens
                assertEquals(2, seqs.size());
                assertArrayEquals(t.encode("the cat sat"), seqs.get(0).tokens);
                assertArrayEquals(t.encode("Grüße and the cat"), seqs.get(1).tokens);
            }
        }
    }
}
