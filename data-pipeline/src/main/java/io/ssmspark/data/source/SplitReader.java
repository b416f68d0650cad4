package io.ssmspark.data.source;

import io.ssmspark.data.BadRecord;
import io.ssmspark.data.BadRecordException;
import io.ssmspark.data.ReadItem;
import io.ssmspark.data.TokenChunk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Base of the per-split readers: a pull iterator over {@link ReadItem}s. Subclasses implement
 * {@link #step()}, which reads some input and emits zero or more items. A bad record either
 * becomes an item (skipping on) or stops the task with a {@link BadRecordException}, carried
 * through Spark inside an {@link UncheckedIOException} and unwrapped again on the driver.
 */
abstract class SplitReader implements Iterator<ReadItem> {
    private final ArrayDeque<ReadItem> ready = new ArrayDeque<>();
    private final boolean skipBadRecords;
    private boolean finished;

    SplitReader(boolean skipBadRecords) {
        this.skipBadRecords = skipBadRecords;
    }

    /** Reads on; returns false once the split is exhausted. */
    protected abstract boolean step() throws IOException;

    protected abstract void closeInput() throws IOException;

    protected final void emit(TokenChunk chunk) {
        ready.add(ReadItem.of(chunk));
    }

    protected final void bad(BadRecord record) {
        if (!skipBadRecords) {
            throw new UncheckedIOException(new BadRecordException(record));
        }
        ready.add(ReadItem.of(record));
    }

    @Override
    public final boolean hasNext() {
        try {
            while (ready.isEmpty() && !finished) {
                if (!step()) {
                    finished = true;
                    closeInput();
                }
            }
        } catch (IOException e) {
            finished = true;
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            finished = true;
            try {
                closeInput();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return !ready.isEmpty();
    }

    @Override
    public final ReadItem next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ready.poll();
    }
}
