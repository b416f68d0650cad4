package io.ssmspark.data;

import java.io.Serializable;

/** Per-record totals gathered by the read pass: token count, start and end seen, first problem. */
public final class RecordSummary implements Serializable {
    private static final long serialVersionUID = 1L;

    public long tokens;
    public boolean sawStart;
    public boolean sawEnd;
    public long idHash;
    public BadRecord bad;

    public RecordSummary() {}

    static RecordSummary of(ReadItem item) {
        RecordSummary s = new RecordSummary();
        if (item.bad != null) {
            s.bad = item.bad;
        } else {
            TokenChunk c = item.chunk;
            s.tokens = c.tokens.length;
            s.sawStart = c.start == 0;
            s.sawEnd = c.last;
            s.idHash = c.start == 0 ? Hashing.hashId(c.sequenceId) : 0;
        }
        return s;
    }

    /** Combines two summaries of the same record; keeps the problem at the lowest offset. */
    static RecordSummary merge(RecordSummary a, RecordSummary b) {
        RecordSummary s = new RecordSummary();
        s.tokens = a.tokens + b.tokens;
        s.sawStart = a.sawStart || b.sawStart;
        s.sawEnd = a.sawEnd || b.sawEnd;
        s.idHash = a.sawStart ? a.idHash : b.idHash;
        s.bad = a.bad == null ? b.bad : b.bad == null ? a.bad : (a.bad.offset <= b.bad.offset ? a.bad : b.bad);
        return s;
    }
}
