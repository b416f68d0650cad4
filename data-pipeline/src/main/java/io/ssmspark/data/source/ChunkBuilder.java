package io.ssmspark.data.source;

import io.ssmspark.data.TokenChunk;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Collects one record's tokens and hands them out as {@link TokenChunk}s of at most {@code
 * maxChunk} tokens. A full chunk is handed out only when the next token arrives, so the chunk that
 * {@link #end} hands out is never empty unless the whole record is.
 */
final class ChunkBuilder {
    private final int maxChunk;
    private final Consumer<TokenChunk> out;
    private int[] buf;
    private int n;
    private String id;
    private long ordinal;
    private long start;
    private boolean open;

    ChunkBuilder(int maxChunk, Consumer<TokenChunk> out) {
        this.maxChunk = maxChunk;
        this.out = out;
        this.buf = new int[Math.min(maxChunk, 1024)];
    }

    /** Starts a record (or, for a record split across tasks, this task's part of it at {@code start}). */
    void begin(String sequenceId, long recordOrdinal, long startOffset) {
        id = sequenceId;
        ordinal = recordOrdinal;
        start = startOffset;
        n = 0;
        open = true;
    }

    boolean isOpen() {
        return open;
    }

    void add(int token) {
        if (n == buf.length) {
            if (n == maxChunk) {
                out.accept(new TokenChunk(id, ordinal, start, buf.clone(), false));
                start += n;
                n = 0;
            } else {
                buf = Arrays.copyOf(buf, Math.min(maxChunk, buf.length * 2));
            }
        }
        buf[n++] = token;
    }

    /** Hands out the rest; {@code last} says whether the record ends here. */
    void end(boolean last) {
        if (n > 0 || last) {
            out.accept(new TokenChunk(id, ordinal, start, Arrays.copyOf(buf, n), last));
        }
        open = false;
        n = 0;
    }

    /** Forgets the tokens of a record found bad. */
    void abandon() {
        open = false;
        n = 0;
    }
}
