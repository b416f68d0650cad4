package io.ssmspark.data;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The good, non-empty sequences of a source in ordinal order: ordinal, length and id hash of each.
 * Built on the driver by the read pass (16 + 8 bytes per sequence) and broadcast to the window and
 * segment builders, which need every sequence's place in the concatenated stream.
 */
public final class DocumentTable implements Serializable {
    private static final long serialVersionUID = 1L;

    public long[] ordinals;
    public long[] lengths;
    public long[] idHashes;

    public DocumentTable() {}

    public DocumentTable(long[] ordinals, long[] lengths, long[] idHashes) {
        for (int i = 1; i < ordinals.length; i++) {
            if (ordinals[i] <= ordinals[i - 1]) {
                throw new IllegalArgumentException("document ordinals must be strictly increasing at index " + i);
            }
        }
        this.ordinals = ordinals;
        this.lengths = lengths;
        this.idHashes = idHashes;
    }

    public int size() {
        return ordinals.length;
    }

    /** Index of the document with this ordinal, or -1. */
    public int indexOf(long ordinal) {
        int i = Arrays.binarySearch(ordinals, ordinal);
        return i >= 0 ? i : -1;
    }

    public long totalTokens() {
        long t = 0;
        for (long l : lengths) {
            t += l;
        }
        return t;
    }
}
