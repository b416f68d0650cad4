package io.ssmspark.data.source;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;

/**
 * Streams fixed-width little-endian elements (1, 2 or 4 bytes) from an input stream through its
 * own buffer, and tracks the element index. A trailing partial element counts as end of input
 * (callers check the file length beforehand).
 */
final class ElementInput implements Closeable {
    private final InputStream in;
    private final int width;
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int limit;
    private long index;
    private boolean eof;

    ElementInput(InputStream in, int width, long firstIndex) {
        if (width != 1 && width != 2 && width != 4) {
            throw new IllegalArgumentException("element width must be 1, 2 or 4 bytes, found " + width);
        }
        this.in = in;
        this.width = width;
        this.index = firstIndex;
    }

    /** Index of the element {@link #next()} returns. */
    long index() {
        return index;
    }

    boolean hasNext() throws IOException {
        if (limit - pos >= width) {
            return true;
        }
        if (eof) {
            return false;
        }
        System.arraycopy(buf, pos, buf, 0, limit - pos);
        limit -= pos;
        pos = 0;
        while (limit < width) {
            int n = in.read(buf, limit, buf.length - limit);
            if (n < 0) {
                eof = true;
                return false;
            }
            limit += n;
        }
        // Fill further while it is cheap, to keep reads large.
        if (limit < buf.length / 2) {
            int n = in.read(buf, limit, buf.length - limit);
            if (n < 0) {
                eof = true;
            } else {
                limit += n;
            }
        }
        return true;
    }

    /** The next element as an int: unsigned for widths 1 and 2, signed for width 4. */
    int next() throws IOException {
        if (!hasNext()) {
            throw new java.io.EOFException("read past the end of input at element " + index);
        }
        int p = pos;
        int v;
        switch (width) {
            case 1:
                v = buf[p] & 0xff;
                break;
            case 2:
                v = (buf[p] & 0xff) | (buf[p + 1] & 0xff) << 8;
                break;
            default:
                v = (buf[p] & 0xff) | (buf[p + 1] & 0xff) << 8 | (buf[p + 2] & 0xff) << 16 | (buf[p + 3] & 0xff) << 24;
        }
        pos += width;
        index++;
        return v;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
