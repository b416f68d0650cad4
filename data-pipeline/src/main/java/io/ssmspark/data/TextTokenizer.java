package io.ssmspark.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Hugging Face {@code tokenizer.json} ({@code --tokenizer}), run by the Rust tokenizers library through DJL.
 *
 * <p>It is serializable: what travels (in a Spark closure or broadcast) is the file's bytes; each JVM builds its
 * native tokenizer once per distinct file at first use and keeps it until the JVM exits (DJL tokenizers are native
 * objects and not serializable). Ids are exactly what the library's {@code encode(text)} returns, special tokens
 * included where the file's post-processor adds them, never truncated nor padded.
 */
public final class TextTokenizer implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The file looked for inside a model directory. */
    public static final String FILE_NAME = "tokenizer.json";

    /**
     * DJL's own defaults truncate to 512 ids and pad; a language model scores whole documents, so neither, as the
     * tokenizers library itself does for a file without truncation or padding.
     */
    private static final Map<String, String> OPTIONS = Map.of("truncation", "false", "padding", "false");

    private static final Map<String, HuggingFaceTokenizer> LOADED = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TextTokenizer::closeAll, "ssm-spark-tokenizer-close"));
    }

    private final String source;
    private final byte[] json;
    private final String digest;
    private final int vocabSize;

    private TextTokenizer(String source, byte[] json) throws IOException {
        this.source = source;
        this.json = json.clone();
        this.digest = sha256(json);
        this.vocabSize = vocabSizeOf(json, source);
        native_(); // fail now, with the file named, rather than inside a task
    }

    /** Reads {@code path}: a {@code tokenizer.json}, or a directory holding one. */
    public static TextTokenizer load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.isRegularFile(file)) {
            throw new java.io.FileNotFoundException(
                    Files.isDirectory(path)
                            ? "tokenizer: " + path + " is a directory without a " + FILE_NAME
                            : "tokenizer: no file " + path);
        }
        return fromBytes(file.toString(), Files.readAllBytes(file));
    }

    /** A tokenizer from the bytes of a {@code tokenizer.json}; {@code source} names it in messages. */
    public static TextTokenizer fromBytes(String source, byte[] json) throws IOException {
        return new TextTokenizer(source, json);
    }

    public String source() {
        return source;
    }

    /** The {@code tokenizer.json} it was read from, byte for byte (a copy). */
    public byte[] json() {
        return json.clone();
    }

    /**
     * Number of ids the tokenizer can produce: one more than the largest id of its model's vocabulary and of its
     * added tokens.
     */
    public int vocabSize() {
        return vocabSize;
    }

    /** The vocabulary of data this tokenizer produced (no separator between documents). */
    public Vocabulary vocabulary() {
        return Vocabulary.tokenizer(vocabSize, source);
    }

    /**
     * Refuses a model whose {@code vocab_size} cannot hold every id of this tokenizer, naming both sizes.
     */
    public void requireFitsModel(int modelVocabSize) {
        if (vocabSize > modelVocabSize) {
            throw new IllegalArgumentException("tokenizer " + source + " has a vocabulary of " + vocabSize
                    + " ids but the model's vocab_size is " + modelVocabSize
                    + ": it could produce ids the model has no row for");
        }
    }

    /** The library's {@code encode(text)} ids. */
    public int[] encode(String text) {
        Encoding e = native_().encode(text);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** The library's decoding of {@code ids}, special tokens kept. */
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return native_().decode(l, false);
    }

    /** The text of one token alone (a part of a multi-byte character decodes to U+FFFD). */
    public String tokenText(int id) {
        return decode(new int[] {id});
    }

    private HuggingFaceTokenizer native_() {
        return LOADED.computeIfAbsent(digest, d -> {
            try {
                return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("tokenizer " + source + ": cannot load: " + e.getMessage(), e);
            }
        });
    }

    /** Closes every native tokenizer this JVM built; a later use builds it again. */
    public static void closeAll() {
        for (Iterator<HuggingFaceTokenizer> it = LOADED.values().iterator(); it.hasNext(); ) {
            HuggingFaceTokenizer t = it.next();
            it.remove();
            t.close();
        }
    }

    private static int vocabSizeOf(byte[] json, String source) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IOException("tokenizer " + source + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode vocab = root.path("model").path("vocab");
        long max = -1;
        if (vocab.isObject()) {
            for (Iterator<JsonNode> it = vocab.elements(); it.hasNext(); ) {
                max = Math.max(max, it.next().asLong());
            }
        } else if (vocab.isArray()) {
            max = vocab.size() - 1L;
        } else {
            throw new IOException("tokenizer " + source + ": no model.vocab (object or array) in the file");
        }
        for (JsonNode added : root.path("added_tokens")) {
            max = Math.max(max, added.path("id").asLong(-1));
        }
        if (max < 0 || max >= Integer.MAX_VALUE) {
            throw new IOException(
                    "tokenizer " + source + ": vocabulary ids must lie in [0, 2^31-1), largest is " + max);
        }
        return (int) max + 1;
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
