package io.ssmspark.data.source;

/**
 * Record ordinals for file sources: {@code fileIndex << 40 | byte offset of the record}. Files are
 * indexed in sorted path order, so the ordinal orders records as they lie in the sorted input,
 * whatever the splitting.
 */
public final class Ordinals {
    /** Largest file (in bytes) whose record offsets fit in an ordinal: 1 TiB. */
    public static final long MAX_OFFSET = 1L << 40;
    /** Largest number of input files. */
    public static final int MAX_FILES = 1 << 23;

    private Ordinals() {}

    public static long of(int fileIndex, long offset) {
        return ((long) fileIndex << 40) | offset;
    }

    public static int fileIndex(long ordinal) {
        return (int) (ordinal >>> 40);
    }
}
