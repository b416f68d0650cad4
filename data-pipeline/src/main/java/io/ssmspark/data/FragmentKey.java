package io.ssmspark.data;

import java.io.Serializable;

/**
 * Shuffle key of a piece of a window or segment: {@code group} is the output record's place in the
 * layout (its partition is {@code group mod P}, see {@link GroupPartitioner}), {@code offset} the
 * piece's position inside the record, {@code tag} what the record is (window index or segment
 * index). Keys sort by (group, offset).
 */
public final class FragmentKey implements Comparable<FragmentKey>, Serializable {
    private static final long serialVersionUID = 1L;

    public long group;
    public long offset;
    public long tag;

    public FragmentKey() {}

    public FragmentKey(long group, long offset, long tag) {
        this.group = group;
        this.offset = offset;
        this.tag = tag;
    }

    @Override
    public int compareTo(FragmentKey o) {
        int c = Long.compare(group, o.group);
        return c != 0 ? c : Long.compare(offset, o.offset);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FragmentKey && ((FragmentKey) o).group == group && ((FragmentKey) o).offset == offset;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(group) * 31 + Long.hashCode(offset);
    }
}
