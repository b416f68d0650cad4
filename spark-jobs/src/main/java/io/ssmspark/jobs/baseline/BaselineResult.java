package io.ssmspark.jobs.baseline;

/**
 * What one baseline run measured. {@code seconds} and {@code cpuSeconds} cover the training loop only
 * ({@code firstStepSeconds} is the first step's share, warm-up included; the process's CPU time, all threads, shows how much of the wall time was this run's own work on a
 * shared machine); {@code validationLoss} is the mean NLL per token in nats; {@code unigramLoss} is NaN
 * unless the data is a synthetic corpus; {@code threadsPerTask} is 0 when not in local mode;
 * {@code exportBytes} is what the export approach wrote to its temporary directory (0 for direct).
 */
public record BaselineResult(
        long parameters,
        int vocab,
        long steps,
        long windowsTrained,
        long tokensTrained,
        double seconds,
        double firstStepSeconds,
        double cpuSeconds,
        double validationLoss,
        long validationWindows,
        long validationTokens,
        double unigramLoss,
        int threadsPerTask,
        long exportBytes) {

    public double tokensPerSecond() {
        return tokensTrained / seconds;
    }

    /** Tokens/s after the first step (which carries the warm-up); NaN with fewer than 2 steps. */
    public double steadyTokensPerSecond() {
        return steps < 2 ? Double.NaN : tokensTrained * (steps - 1.0) / steps / (seconds - firstStepSeconds);
    }
}
