package io.ssmspark.data;

import java.io.Serializable;

/**
 * A run of tokens on its way to a window or segment (the sequence id travels for segments), with
 * their answer flags when the source has them (else null).
 */
public final class Fragment implements Serializable {
    private static final long serialVersionUID = 1L;

    public String sequenceId;
    public int[] tokens;
    public boolean[] answers;

    public Fragment() {}

    public Fragment(String sequenceId, int[] tokens) {
        this(sequenceId, tokens, null);
    }

    public Fragment(String sequenceId, int[] tokens, boolean[] answers) {
        this.sequenceId = sequenceId;
        this.tokens = tokens;
        this.answers = answers;
    }
}
