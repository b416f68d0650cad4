package io.ssmspark.data.source;

import java.io.Serializable;

/** A byte range {@code [start, end)} of one input file, read by one task. */
public final class FileSplit implements Serializable {
    private static final long serialVersionUID = 1L;

    public String path;
    public int fileIndex;
    public long fileLength;
    public long start;
    public long end;

    public FileSplit() {}

    public FileSplit(String path, int fileIndex, long fileLength, long start, long end) {
        this.path = path;
        this.fileIndex = fileIndex;
        this.fileLength = fileLength;
        this.start = start;
        this.end = end;
    }

    @Override
    public String toString() {
        return path + "[" + start + ", " + end + ")";
    }
}
