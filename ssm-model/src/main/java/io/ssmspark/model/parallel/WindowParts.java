package io.ssmspark.model.parallel;

import java.util.Arrays;

/**
 * How a training window of L input tokens is cut into S contiguous parts: part k holds inputs [start(k), end(k)).
 * Parts may be uneven (a part of one token is allowed), never empty.
 */
public record WindowParts(int[] bounds) implements java.io.Serializable {
    public WindowParts {
        if (bounds.length < 2 || bounds[0] != 0) {
            throw new IllegalArgumentException(
                    "window parts: expected bounds 0 = b0 < b1 < ... but found " + Arrays.toString(bounds));
        }
        for (int k = 1; k < bounds.length; k++) {
            if (bounds[k] <= bounds[k - 1]) {
                throw new IllegalArgumentException(
                        "window parts: part " + (k - 1) + " of bounds " + Arrays.toString(bounds) + " is empty");
            }
        }
        bounds = bounds.clone();
    }

    /** L inputs in S parts as even as integers allow: part k starts at floor(k·L/S). */
    public static WindowParts even(int length, int parts) {
        if (parts < 1 || parts > length) {
            throw new IllegalArgumentException("--sequence-parallel " + parts + ": a window of " + length
                    + " tokens cannot be cut into " + parts + " non-empty parts");
        }
        int[] b = new int[parts + 1];
        for (int k = 0; k <= parts; k++) {
            b[k] = (int) ((long) k * length / parts);
        }
        return new WindowParts(b);
    }

    public int count() {
        return bounds.length - 1;
    }

    public int start(int part) {
        return bounds[part];
    }

    public int length(int part) {
        return bounds[part + 1] - bounds[part];
    }

    /** The window's input length L. */
    public int total() {
        return bounds[bounds.length - 1];
    }

    /** The longest part: what bounds a task's memory. */
    public int longest() {
        int m = 0;
        for (int k = 0; k < count(); k++) {
            m = Math.max(m, length(k));
        }
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WindowParts p && Arrays.equals(bounds, p.bounds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bounds);
    }

    @Override
    public String toString() {
        return "WindowParts" + Arrays.toString(bounds);
    }
}
