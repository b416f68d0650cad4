package io.ssmspark.jobs.train;

import io.ssmspark.model.optim.SquareSum;
import java.io.Serializable;
import java.util.List;

/**
 * A reducer's result for one step: its shard of the mean gradient (kept on the executor until the update), that
 * shard's sum of squares for the global norm, and on shard 0 the tasks' summaries; {@link #report} is the small
 * part the driver collects.
 */
public final class ReducedShard implements Serializable {
    private static final long serialVersionUID = 1L;
    public int shard;
    public FlatValues meanGradient;
    public double squaresHi;
    public double squaresLo;
    public List<GradientSlice> summaries;
    public long bytesIn;
    public long reduceNanos;

    public ReducedShard() {}

    SquareSum squares() {
        return new SquareSum(squaresHi, squaresLo);
    }

    /** This result without its gradient. */
    ReducedShard report() {
        ReducedShard r = new ReducedShard();
        r.shard = shard;
        r.squaresHi = squaresHi;
        r.squaresLo = squaresLo;
        r.summaries = summaries;
        r.bytesIn = bytesIn;
        r.reduceNanos = reduceNanos;
        return r;
    }
}
