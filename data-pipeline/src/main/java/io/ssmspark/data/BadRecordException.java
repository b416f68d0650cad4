package io.ssmspark.data;

import java.io.IOException;

/** The error for a bad input record; its message names the file, the offset and what was wrong. */
public final class BadRecordException extends IOException {
    private static final long serialVersionUID = 1L;

    private final BadRecord record;

    public BadRecordException(BadRecord record) {
        super(record.message() + " (use --skip-bad-records to skip such records and go on)");
        this.record = record;
    }

    public BadRecord record() {
        return record;
    }
}
