package io.ssmspark.jobs.train;

import java.util.Locale;

/** Which {@link TrainingState} a run uses (--reduce), and with how many shards (--reduce-shards). */
final class ShardedReduceChoice {
    /**
     * --reduce auto shards the reduce once the driver fold would receive more than this per step (partitions × 12
     * bytes × parameters): half of Spark's default spark.driver.maxResultSize, which a step's collect may not
     * exceed; below it the two paths run at the same speed on local[2] (README, "Train at cluster scale").
     */
    static final long AUTO_MAX_DRIVER_BYTES = 512L << 20;

    static final String AUTO_MAX_DRIVER_BYTES_TEXT = "512 MiB";

    private ShardedReduceChoice() {}

    static void validate(TrainConfig c) {
        String r = c.reduce.toLowerCase(Locale.ROOT);
        if (!r.equals("driver") && !r.equals("sharded") && !r.equals("auto")) {
            throw new IllegalArgumentException(
                    "--reduce: expected driver, sharded or auto but found '" + c.reduce + "'");
        }
        if (c.reduceShards < 0) {
            throw new IllegalArgumentException(
                    "--reduce-shards: expected 0 (one per partition) or more but found " + c.reduceShards);
        }
        if (r.equals("sharded") && c.sequenceParallel > 1) {
            throw new IllegalArgumentException("--reduce sharded: not available with --sequence-parallel "
                    + c.sequenceParallel + " (its barrier tasks take the parameters from a broadcast and return"
                    + " their gradients to the driver); use --reduce driver or auto");
        }
    }

    /** What the driver fold receives per step: every partition's packed gradient sum, 12 bytes per parameter. */
    static long driverBytesPerStep(TrainConfig c, long parameters) {
        return (long) c.partitions * c.gradAccum * PackedSum.BYTES_PER_ENTRY * parameters;
    }

    /** Refuses a shard count the model cannot be cut into, before anything is written. */
    static void requireFits(TrainConfig c, long parameters) {
        if (sharded(c, parameters)) {
            new ShardLayout(parameters, shards(c, parameters));
        }
    }

    /** Whether a run of {@code parameters} parameters shards its reduce. */
    static boolean sharded(TrainConfig c, long parameters) {
        String r = c.reduce.toLowerCase(Locale.ROOT);
        if (r.equals("auto")) {
            return c.sequenceParallel == 1 && driverBytesPerStep(c, parameters) > AUTO_MAX_DRIVER_BYTES;
        }
        return r.equals("sharded");
    }

    /** The shard count: --reduce-shards, or one per partition (never more than one per parameter). */
    static int shards(TrainConfig c, long parameters) {
        return c.reduceShards > 0 ? c.reduceShards : (int) Math.min(c.partitions, parameters);
    }
}
