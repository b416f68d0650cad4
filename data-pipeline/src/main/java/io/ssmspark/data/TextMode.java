package io.ssmspark.data;

import java.util.Locale;

/** How UTF-8 text is cut into documents ({@code --text-mode}). */
public enum TextMode {
    /** Each file is one document. */
    FILE,
    /** Each line is one document; the newline (and a CR before it) is not part of the document. */
    LINE;

    public static TextMode parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown text mode '" + name + "'; expected file or line");
        }
    }
}
