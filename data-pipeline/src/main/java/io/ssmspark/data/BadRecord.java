package io.ssmspark.data;

import java.io.Serializable;

/**
 * A record that could not be read: the file, where in it ({@code offsetUnit} is "byte",
 * "decompressed byte" or "row"), and why. {@code ordinal} is the ordinal of the whole record the
 * problem spoils (see {@link TokenChunk#ordinal}); with skipping on, every chunk of that record is
 * left out.
 */
public final class BadRecord implements Serializable {
    private static final long serialVersionUID = 1L;

    public String file;
    public long ordinal;
    public String offsetUnit;
    public long offset;
    public String reason;

    public BadRecord() {}

    public BadRecord(String file, long ordinal, String offsetUnit, long offset, String reason) {
        this.file = file;
        this.ordinal = ordinal;
        this.offsetUnit = offsetUnit;
        this.offset = offset;
        this.reason = reason;
    }

    /** "FILE: at byte offset N: REASON". */
    public String message() {
        return file + ": at " + offsetUnit + " offset " + offset + ": " + reason;
    }

    @Override
    public String toString() {
        return message();
    }
}
