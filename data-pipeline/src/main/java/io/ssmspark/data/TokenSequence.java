package io.ssmspark.data;

import java.io.Serializable;
import java.util.Arrays;

/** One whole sequence (document, FASTA record, line...) as token ids. */
public final class TokenSequence implements Serializable {
    private static final long serialVersionUID = 1L;

    public String sequenceId;
    public int[] tokens;

    public TokenSequence() {}

    public TokenSequence(String sequenceId, int[] tokens) {
        this.sequenceId = sequenceId;
        this.tokens = tokens;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenSequence
                && ((TokenSequence) o).sequenceId.equals(sequenceId)
                && Arrays.equals(((TokenSequence) o).tokens, tokens);
    }

    @Override
    public int hashCode() {
        return sequenceId.hashCode() * 31 + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return sequenceId + " (" + tokens.length + " tokens)";
    }
}
