package io.ssmspark.data;

/**
 * The DNA alphabet of {@link Vocabulary#dna()}: A=0, C=1, G=2, T=3, N=4. The other IUPAC
 * nucleotide codes (R Y S W K M B D H V U) map to N; lower case folds to upper case.
 */
public final class DnaTokenizer {
    private static final int[] TOKEN_OF_BYTE = new int[256];
    private static final char[] LETTERS = {'A', 'C', 'G', 'T', 'N'};

    static {
        java.util.Arrays.fill(TOKEN_OF_BYTE, -1);
        String acgtn = "ACGTN";
        for (int i = 0; i < acgtn.length(); i++) {
            TOKEN_OF_BYTE[acgtn.charAt(i)] = i;
            TOKEN_OF_BYTE[Character.toLowerCase(acgtn.charAt(i))] = i;
        }
        for (char c : "RYSWKMBDHVU".toCharArray()) {
            TOKEN_OF_BYTE[c] = Vocabulary.DNA_N;
            TOKEN_OF_BYTE[Character.toLowerCase(c)] = Vocabulary.DNA_N;
        }
    }

    private DnaTokenizer() {}

    /** The token of one ASCII letter (0..255), or -1 when it is not a nucleotide code. */
    public static int tokenOf(int asciiByte) {
        return asciiByte >= 0 && asciiByte < 256 ? TOKEN_OF_BYTE[asciiByte] : -1;
    }

    /** The upper-case letter of a DNA token 0..4. */
    public static char letterOf(int token) {
        if (token < 0 || token > 4) {
            throw new IllegalArgumentException("DNA token must be in [0, 4], found " + token);
        }
        return LETTERS[token];
    }

    /** Tokens of a string of nucleotide letters; rejects other characters. */
    public static int[] encode(CharSequence letters) {
        int[] out = new int[letters.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tokenOf(letters.charAt(i));
            if (out[i] < 0) {
                throw new IllegalArgumentException(
                        "not a nucleotide code at position " + i + ": '" + letters.charAt(i) + "'");
            }
        }
        return out;
    }

    public static String decode(int[] tokens) {
        StringBuilder sb = new StringBuilder(tokens.length);
        for (int t : tokens) {
            sb.append(letterOf(t));
        }
        return sb.toString();
    }
}
