package io.ssmspark.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import scala.Tuple2;

/**
 * One partition's share of the read pass, in compact form: the good documents (ordinal, length, id
 * hash) in ordinal order, the number of empty records, the ordinals of the bad records and the
 * first few of them in full. About 24 bytes per document reach the driver.
 */
public final class PartialTable implements Serializable {
    private static final long serialVersionUID = 1L;

    public long[] ordinals;
    public long[] lengths;
    public long[] idHashes;
    public long emptyRecords;
    public long[] badOrdinals;
    public BadRecord[] badExamples;

    public PartialTable() {}

    /** Condenses per-record summaries sorted by ordinal; keeps at most {@code maxExamples} bad records. */
    static PartialTable of(Iterator<Tuple2<Long, RecordSummary>> sorted, int maxExamples) {
        LongList ordinals = new LongList();
        LongList lengths = new LongList();
        LongList hashes = new LongList();
        LongList bad = new LongList();
        PartialTable t = new PartialTable();
        List<BadRecord> examples = new ArrayList<>();
        while (sorted.hasNext()) {
            Tuple2<Long, RecordSummary> next = sorted.next();
            RecordSummary s = next._2();
            if (s.bad != null) {
                bad.add(next._1());
                if (examples.size() < maxExamples) {
                    examples.add(s.bad);
                }
            } else if (!s.sawStart || !s.sawEnd) {
                throw new IllegalStateException("record with ordinal " + next._1() + " was read incompletely (start "
                        + s.sawStart + ", end " + s.sawEnd + ")");
            } else if (s.tokens == 0) {
                t.emptyRecords++;
            } else {
                ordinals.add(next._1());
                lengths.add(s.tokens);
                hashes.add(s.idHash);
            }
        }
        t.ordinals = ordinals.toArray();
        t.lengths = lengths.toArray();
        t.idHashes = hashes.toArray();
        t.badOrdinals = bad.toArray();
        t.badExamples = examples.toArray(new BadRecord[0]);
        return t;
    }

    /** A growable long array. */
    static final class LongList {
        private long[] values = new long[16];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        void addAll(long[] vs) {
            for (long v : vs) {
                add(v);
            }
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }
}
