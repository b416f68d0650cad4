package io.ssmspark.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The token vocabulary a data set was produced with. It is stored beside written data as
 * {@value #FILE_NAME} so that a job can check it against a model's {@code vocab_size}.
 *
 * <ul>
 *   <li><b>byte</b>: ids 0..255 are the raw bytes of UTF-8 text, id 256 separates documents; 257
 *       ids in all (a model needs {@code vocab_size >= 257}).
 *   <li><b>dna</b>: A=0, C=1, G=2, T=3, N=4 (every other IUPAC code folds to N, lower case to upper
 *       case), id 5 separates sequences; 6 ids.
 *   <li><b>tokens</b>: pre-tokenized data; the size is given by the user, with an optional separator
 *       id inside it ({@code -1} when documents are concatenated without one).
 *   <li><b>synthetic</b>: a built-in synthetic corpus; at most 256 ids, separator included.
 *   <li><b>tokenizer</b>: text encoded by a Hugging Face {@code tokenizer.json} ({@link TextTokenizer}); its ids,
 *       documents concatenated without a separator.
 * </ul>
 */
public final class Vocabulary implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Name of the vocabulary file written beside data sets. */
    public static final String FILE_NAME = "vocab.json";

    public static final int BYTE_SEPARATOR = 256;
    public static final int DNA_A = 0, DNA_C = 1, DNA_G = 2, DNA_T = 3, DNA_N = 4, DNA_SEPARATOR = 5;

    /** What produced the token ids. */
    public enum Kind {
        BYTE,
        DNA,
        TOKENS,
        SYNTHETIC,
        TOKENIZER;

        String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Kind kind;
    private final String name;
    private final int size;
    private final int separatorId;
    private final Map<String, Integer> specialTokens;
    private final String description;

    private Vocabulary(
            Kind kind, String name, int size, int separatorId, Map<String, Integer> special, String description) {
        if (size <= 0) {
            throw new IllegalArgumentException("vocabulary '" + name + "': size must be positive, found " + size);
        }
        if (separatorId < -1 || separatorId >= size) {
            throw new IllegalArgumentException("vocabulary '" + name + "': separator id must be -1 (none) or in [0, "
                    + size + "), found " + separatorId);
        }
        for (Map.Entry<String, Integer> e : special.entrySet()) {
            if (e.getValue() < 0 || e.getValue() >= size) {
                throw new IllegalArgumentException("vocabulary '" + name + "': special token '" + e.getKey()
                        + "' has id " + e.getValue() + ", outside [0, " + size + ")");
            }
        }
        this.kind = kind;
        this.name = name;
        this.size = size;
        this.separatorId = separatorId;
        this.specialTokens = Collections.unmodifiableMap(new LinkedHashMap<>(special));
        this.description = description;
    }

    /** The byte-level vocabulary: 256 byte ids and the document separator 256. */
    public static Vocabulary bytes() {
        return new Vocabulary(
                Kind.BYTE,
                "byte",
                257,
                BYTE_SEPARATOR,
                Map.of("<sep>", BYTE_SEPARATOR),
                "ids 0..255 are the bytes of UTF-8 text; 256 separates documents");
    }

    /** The DNA vocabulary: A C G T N and the sequence separator 5. */
    public static Vocabulary dna() {
        Map<String, Integer> special = new LinkedHashMap<>();
        special.put("A", DNA_A);
        special.put("C", DNA_C);
        special.put("G", DNA_G);
        special.put("T", DNA_T);
        special.put("N", DNA_N);
        special.put("<sep>", DNA_SEPARATOR);
        return new Vocabulary(
                Kind.DNA,
                "dna",
                6,
                DNA_SEPARATOR,
                special,
                "A=0 C=1 G=2 T=3 N=4 (other IUPAC codes -> N, lower case -> upper case); 5 separates sequences");
    }

    /** A pre-tokenized vocabulary of {@code size} ids; {@code separatorId} is -1 when there is none. */
    public static Vocabulary tokens(int size, int separatorId) {
        Map<String, Integer> special = separatorId >= 0 ? Map.of("<sep>", separatorId) : Map.of();
        return new Vocabulary(
                Kind.TOKENS,
                "tokens",
                size,
                separatorId,
                special,
                "pre-tokenized ids 0.." + (size - 1)
                        + (separatorId >= 0 ? "; " + separatorId + " separates documents" : ""));
    }

    /** The vocabulary of a built-in synthetic corpus; it must fit in 256 ids. */
    public static Vocabulary synthetic(
            String name, int size, int separatorId, Map<String, Integer> special, String description) {
        if (size > 256) {
            throw new IllegalArgumentException(
                    "synthetic vocabulary '" + name + "' has " + size + " ids; synthetic corpora must fit in 256");
        }
        return new Vocabulary(Kind.SYNTHETIC, name, size, separatorId, special, description);
    }

    /** Text encoded by the tokenizer {@code source}, which has {@code size} ids. */
    public static Vocabulary tokenizer(int size, String source) {
        return new Vocabulary(Kind.TOKENIZER, "tokenizer", size, -1, Map.of(), "ids of the tokenizer " + source);
    }

    public Kind kind() {
        return kind;
    }

    public String name() {
        return name;
    }

    /** Number of token ids, separator and special tokens included. */
    public int size() {
        return size;
    }

    /** The id placed between documents, or -1 when documents are concatenated directly. */
    public int separatorId() {
        return separatorId;
    }

    public boolean hasSeparator() {
        return separatorId >= 0;
    }

    public Map<String, Integer> specialTokens() {
        return specialTokens;
    }

    public String description() {
        return description;
    }

    public boolean contains(int id) {
        return id >= 0 && id < size;
    }

    /**
     * Checks that a model with {@code modelVocabSize} output ids (the config's {@code vocab_size}
     * before padding) can represent every id of this vocabulary.
     */
    public void requireFitsModel(int modelVocabSize) {
        if (modelVocabSize < size) {
            throw new IllegalArgumentException("data vocabulary '" + name + "' (" + kind.jsonName() + ") needs " + size
                    + " token ids but the model config has vocab_size " + modelVocabSize);
        }
    }

    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("kind", kind.jsonName());
        root.put("name", name);
        root.put("size", size);
        root.put("separator_id", separatorId);
        ObjectNode special = root.putObject("special_tokens");
        specialTokens.forEach(special::put);
        root.put("description", description);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot render vocabulary as JSON", e);
        }
    }

    /** Parses {@link #toJson()} output; {@code source} names the origin for error messages. */
    public static Vocabulary fromJson(String json, String source) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new java.io.IOException(source + ": not valid JSON: " + e.getMessage(), e);
        }
        String kindName = requiredText(root, "kind", source);
        Kind kind;
        try {
            kind = Kind.valueOf(kindName.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IOException(
                    source + ": field 'kind' must be one of byte, dna, tokens, synthetic, tokenizer; found '" + kindName
                            + "'");
        }
        Map<String, Integer> special = new LinkedHashMap<>();
        JsonNode sp = root.path("special_tokens");
        for (Iterator<Map.Entry<String, JsonNode>> it = sp.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            special.put(e.getKey(), e.getValue().asInt());
        }
        try {
            return new Vocabulary(
                    kind,
                    requiredText(root, "name", source),
                    requiredInt(root, "size", source),
                    requiredInt(root, "separator_id", source),
                    special,
                    root.path("description").asText(""));
        } catch (IllegalArgumentException e) {
            throw new IOException(source + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@value #FILE_NAME} into directory {@code dir} (any Hadoop URI). */
    public Path writeTo(Path dir, Configuration conf) throws IOException {
        Path file = new Path(dir, FILE_NAME);
        FileSystem fs = file.getFileSystem(conf);
        try (OutputStream out = fs.create(file, true)) {
            out.write(toJson().getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    /** Reads {@value #FILE_NAME} from directory {@code dir}. */
    public static Vocabulary readFrom(Path dir, Configuration conf) throws IOException {
        Path file = new Path(dir, FILE_NAME);
        FileSystem fs = file.getFileSystem(conf);
        if (!fs.exists(file)) {
            throw new java.io.FileNotFoundException(file + ": no vocabulary file beside the data");
        }
        try (InputStream in = fs.open(file)) {
            return fromJson(new String(in.readAllBytes(), StandardCharsets.UTF_8), file.toString());
        }
    }

    private static String requiredText(JsonNode root, String field, String source) throws IOException {
        JsonNode n = root.get(field);
        if (n == null || !n.isTextual()) {
            throw new IOException(source + ": field '" + field + "' must be a string, found " + n);
        }
        return n.asText();
    }

    private static int requiredInt(JsonNode root, String field, String source) throws IOException {
        JsonNode n = root.get(field);
        if (n == null || !n.isInt()) {
            throw new IOException(source + ": field '" + field + "' must be an integer, found " + n);
        }
        return n.asInt();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Vocabulary)) {
            return false;
        }
        Vocabulary v = (Vocabulary) o;
        return kind == v.kind
                && size == v.size
                && separatorId == v.separatorId
                && name.equals(v.name)
                && specialTokens.equals(v.specialTokens)
                && description.equals(v.description);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, name, size, separatorId, specialTokens, description);
    }

    @Override
    public String toString() {
        return "Vocabulary[" + kind.jsonName() + " '" + name + "', size " + size + ", separator " + separatorId + "]";
    }
}
