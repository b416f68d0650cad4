package io.ssmspark.data;

import java.io.Serializable;

/**
 * How to read a data spec. Immutable; each {@code withX} returns a copy. Defaults: text format,
 * a document per file, columns {@code id} and {@code tokens}, no separator for token files, bad
 * records fail the run, up to 5 bad-record examples, Spark's default parallelism, 65,536-token
 * chunks.
 */
public final class ReadOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    private InputFormat format = InputFormat.TEXT;
    private TextMode textMode = TextMode.FILE;
    private String idColumn = "id";
    private String tokenColumn = "tokens";
    private int vocabSize = 0;
    private int fallbackVocabSize = 0;
    private int separatorToken = -1;
    private boolean splitOnSeparator = false;
    private boolean skipBadRecords = false;
    private int maxBadExamples = 5;
    private int partitions = 0;
    private int maxChunkTokens = 1 << 16;
    private TextTokenizer tokenizer = null;

    public static ReadOptions defaults() {
        return new ReadOptions();
    }

    private ReadOptions copy() {
        ReadOptions o = new ReadOptions();
        o.format = format;
        o.textMode = textMode;
        o.idColumn = idColumn;
        o.tokenColumn = tokenColumn;
        o.vocabSize = vocabSize;
        o.fallbackVocabSize = fallbackVocabSize;
        o.separatorToken = separatorToken;
        o.splitOnSeparator = splitOnSeparator;
        o.skipBadRecords = skipBadRecords;
        o.maxBadExamples = maxBadExamples;
        o.partitions = partitions;
        o.maxChunkTokens = maxChunkTokens;
        o.tokenizer = tokenizer;
        return o;
    }

    public ReadOptions withFormat(InputFormat f) {
        ReadOptions o = copy();
        o.format = f;
        return o;
    }

    public ReadOptions withTextMode(TextMode m) {
        ReadOptions o = copy();
        o.textMode = m;
        return o;
    }

    public ReadOptions withIdColumn(String name) {
        ReadOptions o = copy();
        o.idColumn = requireName("id column", name);
        return o;
    }

    public ReadOptions withTokenColumn(String name) {
        ReadOptions o = copy();
        o.tokenColumn = requireName("token column", name);
        return o;
    }

    /**
     * The vocabulary size of token files when neither {@link #withVocabSize} nor a vocab.json beside the data gives
     * one: the model's own {@code vocab_size} for scoring, so ids beyond it are still refused with file and offset.
     */
    public ReadOptions withFallbackVocabSize(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("fallback vocab size must be positive, found " + size);
        }
        ReadOptions o = copy();
        o.fallbackVocabSize = size;
        return o;
    }

    /** Number of token ids for the tokens and Parquet formats (required there); ids must be below it. */
    public ReadOptions withVocabSize(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("vocab size must be positive, found " + size);
        }
        ReadOptions o = copy();
        o.vocabSize = size;
        return o;
    }

    /**
     * The separator id of a pre-tokenized vocabulary (-1: none). It is placed between documents in
     * training windows, and with {@link #withSplitOnSeparator} it also splits token files into
     * sequences.
     */
    public ReadOptions withSeparatorToken(int id) {
        if (id < -1) {
            throw new IllegalArgumentException("separator token must be -1 (none) or a token id, found " + id);
        }
        ReadOptions o = copy();
        o.separatorToken = id;
        return o;
    }

    /** Token files hold many sequences, each ended by the separator token (else one per file). */
    public ReadOptions withSplitOnSeparator(boolean split) {
        ReadOptions o = copy();
        o.splitOnSeparator = split;
        return o;
    }

    public ReadOptions withSkipBadRecords(boolean skip) {
        ReadOptions o = copy();
        o.skipBadRecords = skip;
        return o;
    }

    public ReadOptions withMaxBadExamples(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("max bad examples must be >= 0, found " + n);
        }
        ReadOptions o = copy();
        o.maxBadExamples = n;
        return o;
    }

    /** Number of input partitions (0: Spark's default parallelism). Results do not depend on it. */
    public ReadOptions withPartitions(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("partitions must be >= 0, found " + n);
        }
        ReadOptions o = copy();
        o.partitions = n;
        return o;
    }

    /** Longest run of tokens held in one {@link TokenChunk}; bounds the memory of one record. */
    public ReadOptions withMaxChunkTokens(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("max chunk tokens must be >= 1, found " + n);
        }
        ReadOptions o = copy();
        o.maxChunkTokens = n;
        return o;
    }

    /** Text is encoded by {@code t} ({@code --tokenizer}) instead of a token per byte; null: bytes. */
    public ReadOptions withTokenizer(TextTokenizer t) {
        ReadOptions o = copy();
        o.tokenizer = t;
        return o;
    }

    /** The tokenizer of text input, or null for byte tokens. */
    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    private static String requireName(String what, String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(what + " name must not be blank");
        }
        return name;
    }

    public InputFormat format() {
        return format;
    }

    public TextMode textMode() {
        return textMode;
    }

    public String idColumn() {
        return idColumn;
    }

    public String tokenColumn() {
        return tokenColumn;
    }

    public int vocabSize() {
        return vocabSize;
    }

    public int separatorToken() {
        return separatorToken;
    }

    public boolean splitOnSeparator() {
        return splitOnSeparator;
    }

    public boolean skipBadRecords() {
        return skipBadRecords;
    }

    public int maxBadExamples() {
        return maxBadExamples;
    }

    public int partitions() {
        return partitions;
    }

    public int maxChunkTokens() {
        return maxChunkTokens;
    }

    /** The vocabulary a file source of this format produces; checks that required options are set. */
    public Vocabulary fileVocabulary() {
        switch (format) {
            case TEXT:
                return tokenizer != null ? tokenizer.vocabulary() : Vocabulary.bytes();
            case FASTA:
                return Vocabulary.dna();
            default:
                int vocabSize = this.vocabSize > 0 ? this.vocabSize : fallbackVocabSize;
                if (vocabSize <= 0) {
                    throw new IllegalArgumentException(
                            "input format " + format.cliName() + " needs the vocabulary size (--vocab-size, or a "
                                    + Vocabulary.FILE_NAME + " beside the data)");
                }
                if (separatorToken >= vocabSize) {
                    throw new IllegalArgumentException(
                            "separator token " + separatorToken + " is outside the vocabulary [0, " + vocabSize + ")");
                }
                if (splitOnSeparator && separatorToken < 0) {
                    throw new IllegalArgumentException("splitting token files on a separator needs --separator-token");
                }
                if (format == InputFormat.TOKENS_U16 && vocabSize > 65536) {
                    throw new IllegalArgumentException(
                            "tokens-u16 holds ids below 65536, but the vocabulary size is " + vocabSize);
                }
                return Vocabulary.tokens(vocabSize, separatorToken);
        }
    }
}
