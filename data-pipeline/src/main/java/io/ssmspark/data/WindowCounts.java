package io.ssmspark.data;

import java.io.Serializable;

/**
 * Counts for one split's windows: documents, their tokens, the stream length (tokens plus one
 * separator per document when the vocabulary has one), windows, and the tokens after the last
 * window that no window covers.
 */
public final class WindowCounts implements Serializable {
    private static final long serialVersionUID = 1L;

    public final long documents;
    public final long tokens;
    public final long streamTokens;
    public final long windows;
    public final long droppedTailTokens;

    public WindowCounts(long documents, long tokens, long streamTokens, long windows, long droppedTailTokens) {
        this.documents = documents;
        this.tokens = tokens;
        this.streamTokens = streamTokens;
        this.windows = windows;
        this.droppedTailTokens = droppedTailTokens;
    }

    @Override
    public String toString() {
        return documents + " documents, " + tokens + " tokens (" + streamTokens + " with separators), " + windows
                + " windows, " + droppedTailTokens + " tail tokens dropped";
    }
}
