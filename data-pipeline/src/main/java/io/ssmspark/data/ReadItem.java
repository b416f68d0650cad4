package io.ssmspark.data;

import java.io.Serializable;

/** What a source reader emits: a chunk of a good record, or a bad record (exactly one is set). */
public final class ReadItem implements Serializable {
    private static final long serialVersionUID = 1L;

    public TokenChunk chunk;
    public BadRecord bad;

    public ReadItem() {}

    public static ReadItem of(TokenChunk chunk) {
        ReadItem i = new ReadItem();
        i.chunk = chunk;
        return i;
    }

    public static ReadItem of(BadRecord bad) {
        ReadItem i = new ReadItem();
        i.bad = bad;
        return i;
    }
}
