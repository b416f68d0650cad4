package io.ssmspark.jobs.train;

import java.io.Serializable;
import org.apache.spark.TaskContext;

/**
 * Test hook behind {@code --inject-task-failure STEP:PARTITION}: the first attempt of that partition's task in
 * that (1-based) step throws, so tests can check that Spark's retry leaves the step's result unchanged.
 */
public record FaultInjection(int step, int partition) implements Serializable {

    public static FaultInjection parse(String spec) {
        String[] parts = spec.split(":");
        try {
            if (parts.length == 2) {
                FaultInjection f =
                        new FaultInjection(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
                if (f.step >= 1 && f.partition >= 0) {
                    return f;
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--inject-task-failure: expected STEP:PARTITION (step >= 1, partition >= 0)"
                + " but found '" + spec + "'");
    }

    /** Throws when the running task is this hook's target and on its first attempt. */
    void maybeFail(int currentStep, int currentPartition) {
        TaskContext task = TaskContext.get();
        if (currentStep == step && currentPartition == partition && task != null && task.attemptNumber() == 0) {
            throw new InjectedTaskFailure("injected failure of step " + step + ", partition " + partition
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
