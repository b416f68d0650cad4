package io.ssmspark.jobs.train;

import java.io.Serializable;
import org.apache.spark.TaskContext;

/**
 * Test hook behind {@code --inject-task-failure STEP:PARTITION} (a training task) or {@code reduce:STEP:SHARD} (a
 * reducer of the sharded gradient reduce): the first attempt of that task in that (1-based) step throws, so tests
 * can check that Spark's retry leaves the step's result unchanged.
 */
public record FaultInjection(int step, int partition, boolean reducer) implements Serializable {
    private static final String REDUCE = "reduce:";

    public static FaultInjection parse(String spec) {
        boolean reducer = spec.startsWith(REDUCE);
        String[] parts = (reducer ? spec.substring(REDUCE.length()) : spec).split(":");
        try {
            if (parts.length == 2) {
                FaultInjection f = new FaultInjection(
                        Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()), reducer);
                if (f.step >= 1 && f.partition >= 0) {
                    return f;
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--inject-task-failure: expected STEP:PARTITION or reduce:STEP:SHARD"
                + " (step >= 1, partition or shard >= 0) but found '" + spec + "'");
    }

    /** Throws when the running training task is this hook's target and on its first attempt. */
    void maybeFail(int currentStep, int currentPartition) {
        if (!reducer) {
            failIfTargeted(currentStep, currentPartition, "partition");
        }
    }

    /** Throws when the running reducer task is this hook's target and on its first attempt. */
    void maybeFailReducer(int currentStep, int currentShard) {
        if (reducer) {
            failIfTargeted(currentStep, currentShard, "reducer of shard");
        }
    }

    private void failIfTargeted(int currentStep, int current, String what) {
        TaskContext task = TaskContext.get();
        if (currentStep == step && current == partition && task != null && task.attemptNumber() == 0) {
            throw new InjectedTaskFailure("injected failure of step " + step + ", " + what + " " + partition
                    + ", attempt 0 (--inject-task-failure)");
        }
    }

    /** The exception the hook throws. */
    public static final class InjectedTaskFailure extends RuntimeException {
        InjectedTaskFailure(String message) {
            super(message);
        }
    }
}
