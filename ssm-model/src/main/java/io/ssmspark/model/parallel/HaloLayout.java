package io.ssmspark.model.parallel;

/**
 * Where a part's halo comes from under a layer that reads {@code haloRows} earlier rows: each earlier part j shares
 * its tail, its last min(haloRows, length) rows; part k's halo is those tails end to end, cut to the last
 * min(haloRows, start(k)) rows. {@link #used} says how many of owner j's tail rows part k reads and
 * {@link #offset} where they sit in k's halo. Every part computes the same layout from the window's bounds alone.
 */
final class HaloLayout {
    private final WindowParts parts;
    private final int haloRows;

    HaloLayout(WindowParts parts, int haloRows) {
        this.parts = parts;
        this.haloRows = haloRows;
    }

    /** Rows of part j's tail. */
    int tailRows(int j) {
        return Math.min(haloRows, parts.length(j));
    }

    /** Rows of part k's halo. */
    int haloRowsOf(int k) {
        return Math.min(haloRows, parts.start(k));
    }

    /** How many of part j's tail rows (its last ones) part k &gt; j reads. */
    int used(int k, int j) {
        int need = haloRowsOf(k);
        for (int i = k - 1; i > j && need > 0; i--) {
            need -= Math.min(need, tailRows(i));
        }
        return Math.min(need, tailRows(j));
    }

    /** Where part j's used rows begin in part k's halo. */
    int offset(int k, int j) {
        int after = 0;
        for (int i = k - 1; i > j; i--) {
            after += used(k, i);
        }
        return haloRowsOf(k) - after - used(k, j);
    }
}
