package io.ssmspark.data;

import java.util.Locale;

/** The on-disk formats a data path can hold ({@code --input-format}). */
public enum InputFormat {
    /** UTF-8 text, byte-level tokens; a document per file or per line. */
    TEXT("text"),
    /** FASTA or gzip-compressed FASTA (by the {@code .gz} suffix); DNA tokens. */
    FASTA("fasta"),
    /** Raw little-endian unsigned 16-bit token ids. */
    TOKENS_U16("tokens-u16"),
    /** Raw little-endian signed 32-bit token ids. */
    TOKENS_I32("tokens-i32"),
    /** Parquet with an {@code array<int>} token column and an id column. */
    PARQUET("parquet");

    private final String cliName;

    InputFormat(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Bytes per token for the raw token formats, 0 for the others. */
    public int tokenWidthBytes() {
        return this == TOKENS_U16 ? 2 : this == TOKENS_I32 ? 4 : 0;
    }

    public static InputFormat parse(String name) {
        for (InputFormat f : values()) {
            if (f.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException(
                "unknown input format '" + name + "'; expected one of text, fasta, tokens-u16, tokens-i32, parquet");
    }
}
