package io.ssmspark.data;

import java.nio.charset.StandardCharsets;

/**
 * The byte-level tokenizer of {@link Vocabulary#bytes()}: a token per UTF-8 byte (0..255), and
 * {@link Vocabulary#BYTE_SEPARATOR} (256) between documents.
 */
public final class ByteTokenizer {
    private ByteTokenizer() {}

    public static int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] t = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            t[i] = b[i] & 0xff;
        }
        return t;
    }

    /**
     * Text of byte tokens; each separator becomes {@code separatorText}; invalid UTF-8 becomes
     * U+FFFD. Rejects ids outside the byte vocabulary.
     */
    public static String decode(int[] tokens, String separatorText) {
        StringBuilder out = new StringBuilder();
        java.io.ByteArrayOutputStream run = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            if (t == Vocabulary.BYTE_SEPARATOR) {
                out.append(run.toString(StandardCharsets.UTF_8)).append(separatorText);
                run.reset();
            } else if (t >= 0 && t < 256) {
                run.write(t);
            } else {
                throw new IllegalArgumentException(
                        "token " + i + " is " + t + ", outside the byte vocabulary [0, 257)");
            }
        }
        return out.append(run.toString(StandardCharsets.UTF_8)).toString();
    }
}
