package io.ssmspark.data.source;

/**
 * Checks a byte stream for well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), one byte at a time, so it works on streams of any length.
 */
final class Utf8Validator {
    private int pending; // continuation bytes still expected
    private int lowerBound = 0x80; // allowed range of the next continuation byte
    private int upperBound = 0xBF;

    void reset() {
        pending = 0;
        lowerBound = 0x80;
        upperBound = 0xBF;
    }

    /** Returns null when {@code b} is acceptable here, else what is wrong with it. */
    String accept(int b) {
        if (pending > 0) {
            if (b < lowerBound || b > upperBound) {
                reset();
                return String.format("invalid UTF-8: byte 0x%02X where a continuation byte was expected", b);
            }
            lowerBound = 0x80;
            upperBound = 0xBF;
            pending--;
            return null;
        }
        if (b < 0x80) {
            return null;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            pending = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            pending = 2;
            lowerBound = b == 0xE0 ? 0xA0 : 0x80; // E0: no overlong forms
            upperBound = b == 0xED ? 0x9F : 0xBF; // ED: no surrogates
        } else if (b >= 0xF0 && b <= 0xF4) {
            pending = 3;
            lowerBound = b == 0xF0 ? 0x90 : 0x80;
            upperBound = b == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
        } else {
            return String.format("invalid UTF-8: byte 0x%02X cannot start a character", b);
        }
        return null;
    }

    /** Returns null when the input may end here, else what is missing. */
    String finish() {
        if (pending > 0) {
            int missing = pending;
            reset();
            return "invalid UTF-8: input ends inside a character (" + missing + " continuation byte(s) missing)";
        }
        return null;
    }
}
