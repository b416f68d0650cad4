package io.ssmspark.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import scala.Tuple2;

/**
 * Joins the fragments of one shuffle partition, sorted by (group, offset), back into whole
 * records, one group at a time, so a partition streams through in the memory of one record. The
 * fragments of a group must tile it exactly: each starts where the previous ended. Answer flags
 * travel with the tokens when the fragments carry them (all of a group's, or none).
 */
abstract class FragmentAssembler<T> implements Iterator<T> {
    private final Iterator<Tuple2<FragmentKey, Fragment>> input;
    private Tuple2<FragmentKey, Fragment> pending;

    FragmentAssembler(Iterator<Tuple2<FragmentKey, Fragment>> input) {
        this.input = input;
    }

    /** The length the record of this group must have. */
    protected abstract int recordLength(FragmentKey first);

    /** Builds the output record from its key, its joined tokens and their answer flags (null: none). */
    protected abstract T record(FragmentKey first, String sequenceId, int[] tokens, boolean[] answers);

    @Override
    public boolean hasNext() {
        return pending != null || input.hasNext();
    }

    @Override
    public T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Tuple2<FragmentKey, Fragment> head = pending != null ? pending : input.next();
        pending = null;
        FragmentKey first = head._1();
        int[] tokens = new int[recordLength(first)];
        boolean[] answers = head._2().answers == null ? null : new boolean[tokens.length];
        int filled = 0;
        Tuple2<FragmentKey, Fragment> cur = head;
        while (true) {
            if (cur._1().offset != filled) {
                throw new IllegalStateException("record group " + first.group + ": fragment at offset "
                        + cur._1().offset + " but " + filled + " tokens assembled so far");
            }
            int[] piece = cur._2().tokens;
            if (filled + piece.length > tokens.length) {
                throw new IllegalStateException(
                        "record group " + first.group + ": fragments exceed the record length " + tokens.length);
            }
            System.arraycopy(piece, 0, tokens, filled, piece.length);
            boolean[] flags = cur._2().answers;
            if ((flags == null) != (answers == null)) {
                throw new IllegalStateException("record group " + first.group + ": fragment at offset " + filled
                        + (flags == null
                                ? " has no answer flags but the first one has"
                                : " has answer flags but the first one has none"));
            }
            if (flags != null) {
                System.arraycopy(flags, 0, answers, filled, flags.length);
            }
            filled += piece.length;
            if (!input.hasNext()) {
                break;
            }
            cur = input.next();
            if (cur._1().group != first.group) {
                pending = cur;
                break;
            }
        }
        if (filled != tokens.length) {
            throw new IllegalStateException(
                    "record group " + first.group + ": assembled " + filled + " of " + tokens.length + " tokens");
        }
        return record(first, head._2().sequenceId, tokens, answers);
    }
}
