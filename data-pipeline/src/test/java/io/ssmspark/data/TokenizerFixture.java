package io.ssmspark.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small byte-level BPE {@code tokenizer.json} written for the tests: the 256 byte symbols (ids 0..255, so any
 * text encodes), a handful of merges for English, and one added token {@code <|endoftext|>} after them.
 */
public final class TokenizerFixture {
    /** Merges in rank order; each adds the concatenation of its two symbols to the vocabulary. */
    private static final String[][] MERGES = {
        {"t", "h"}, {"th", "e"}, {"Ġ", "t"}, {"Ġ", "the"}, {"Ġ", "a"}, {"i", "n"}, {"Ġ", "s"}, {"e", "r"},
        {"o", "n"}, {"a", "n"}, {"Ġa", "n"}, {"Ġan", "d"}, {"Ġ", "c"}, {"a", "t"}, {"Ġc", "at"}, {"Ġs", "at"},
    };

    public static final String END_OF_TEXT = "<|endoftext|>";

    private TokenizerFixture() {}

    /** Number of ids of the fixture: 256 bytes, the merges, the added token. */
    public static int vocabSize() {
        return 256 + MERGES.length + 1;
    }

    /** The JSON text of the fixture. */
    public static String json() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode eot = added.addObject();
        eot.put("id", vocabSize() - 1);
        eot.put("content", END_OF_TEXT);
        eot.put("single_word", false);
        eot.put("lstrip", false);
        eot.put("rstrip", false);
        eot.put("normalized", false);
        eot.put("special", true);
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        root.putNull("post_processor");
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", false);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (String s : byteSymbols()) {
            ids.put(s, ids.size());
        }
        ArrayNode merges = model.putArray("merges");
        for (String[] pair : MERGES) {
            ids.putIfAbsent(pair[0] + pair[1], ids.size());
            merges.add(pair[0] + " " + pair[1]);
        }
        ids.forEach(vocab::put);
        if (ids.size() != vocabSize() - 1) {
            throw new IllegalStateException("fixture merges repeat a symbol");
        }
        try {
            return m.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the fixture as {@code dir/tokenizer.json} and returns that file. */
    public static Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path f = dir.resolve(TextTokenizer.FILE_NAME);
        Files.writeString(f, json(), StandardCharsets.UTF_8);
        return f;
    }

    /**
     * The byte-level symbols of bytes 0..255: printable Latin-1 bytes stand for themselves, the others take the
     * code points from U+0100 on, in byte order (the byte-level pre-tokenizer's alphabet).
     */
    static List<String> byteSymbols() {
        List<String> out = new ArrayList<>();
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out.add(new String(Character.toChars(printable ? b : next++)));
        }
        return out;
    }
}
