package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.optim.StepReport;
import java.io.IOException;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Where a run's parameters and AdamW state live between steps, and how a step's gradient reaches them:
 * {@link DriverState} (on the driver, the tasks' sums folded there) or {@link ShardedState} (in shards on the
 * executors, reduced through a shuffle). Both give the same numbers bit for bit.
 */
interface TrainingState extends AutoCloseable {
    /**
     * One step's passes, round r over the windows ranked [firstRanks[r], firstRanks[r] + windowsPerRound); the
     * step's mean gradient (over {@code tokens} tokens) then waits for {@link #update} or {@link #discard}.
     */
    StepPasses gradients(JavaRDD<Window> windows, long[] firstRanks, int windowsPerRound, long tokens, int step);

    /**
     * Clips the waiting gradient to the global norm and applies AdamW at the schedule's rate; parameters and state
     * stay as they were when the norm is not finite ({@link StepReport#applied} false).
     */
    StepReport update();

    /** Drops the waiting gradient unapplied. */
    void discard();

    /** The loss (and answer counts) of the windows ranked [0, windows) under the current parameters. */
    DistributedPass.Outcome evaluate(JavaRDD<Window> validation, long windows, int step);

    /** Writes a training checkpoint of the current parameters and optimizer state. */
    void save(
            RunFiles files, String target, MambaConfig model, long step, TrainConfig run, long epoch, byte[] tokenizer)
            throws IOException;

    /** The whole parameter vector, a new array on the driver (the caller owns it). */
    INDArray parameters();

    long parameterCount();

    /** Where the reduce happens, for the run's first log line. */
    String describe();

    /** Frees what the state holds (executor blocks, native buffers). */
    @Override
    void close();

    /**
     * What a step's passes did: each round's outcome in round order, what sending the parameters to the tasks took,
     * what the driver received, and for the paths that have them the part exchange's and the reducers' figures.
     */
    record StepPasses(
            List<DistributedPass.Outcome> rounds,
            long broadcastNanos,
            long parameterBytes,
            long driverBytes,
            SequenceParallelPass.Exchange exchange,
            Reduce reduce) {}

    /** The sharded reduce's figures: shards, gradient bytes the reducers got, the slowest reducer's time. */
    record Reduce(int shards, long gradientBytes, long maxReducerNanos) {}
}
