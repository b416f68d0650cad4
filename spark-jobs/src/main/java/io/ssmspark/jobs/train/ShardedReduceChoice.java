package io.ssmspark.jobs.train;

import java.util.Locale;

/** Which {@link TrainingState} a run uses (--reduce), and with how many shards (--reduce-shards). */
final class ShardedReduceChoice {
    /** --reduce auto shards the reduce of models from this size on (measured: see the README's scaling section). */
    static final long AUTO_MIN_PARAMETERS = 20_000_000L;

    static final String AUTO_MIN_PARAMETERS_TEXT = "20M";

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
            return c.sequenceParallel == 1 && parameters >= AUTO_MIN_PARAMETERS;
        }
        return r.equals("sharded");
    }

    /** The shard count: --reduce-shards, or one per partition (never more than one per parameter). */
    static int shards(TrainConfig c, long parameters) {
        return c.reduceShards > 0 ? c.reduceShards : (int) Math.min(c.partitions, parameters);
    }
}
