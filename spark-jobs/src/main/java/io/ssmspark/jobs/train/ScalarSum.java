package io.ssmspark.jobs.train;

import java.io.Serializable;

/** The scalar twin of {@link CompensatedSum}: a double-double running sum (Knuth's TwoSum per term). */
public final class ScalarSum implements Serializable {
    private static final long serialVersionUID = 1L;
    private double hi;
    private double lo;

    public ScalarSum() {}

    public void add(double x) {
        double s = hi + x;
        double b = s - hi;
        lo += (hi - (s - b)) + (x - b);
        hi = s;
    }

    public void add(ScalarSum other) {
        add(other.hi);
        lo += other.lo;
    }

    public double value() {
        return hi + lo;
    }
}
