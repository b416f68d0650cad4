package io.ssmspark.jobs.baseline;

/**
 * The options of one baseline run. {@code steps} 0 means no step limit; {@code exportParent} is the
 * Hadoop FS directory under which the export approach writes its temporary directory.
 */
public record BaselineSettings(
        String data,
        String inputFormat,
        int seqLen,
        int batch,
        int hidden,
        int layers,
        double lr,
        long seed,
        int partitions,
        double seconds,
        long steps,
        int averagingFrequency,
        double validationFraction,
        int evalWindows,
        Approach approach,
        String exportParent) {

    /** dl4j-spark's two ways to feed the workers. */
    public enum Approach {
        /** DataSets go straight from the RDD to the workers. */
        DIRECT,
        /** dl4j-spark first writes the DataSets to files under a temporary directory, then trains from those. */
        EXPORT
    }

    /** Checks every option; the message names the option, what was expected and what was found. */
    public BaselineSettings {
        if (data == null || data.isBlank()) {
            throw new IllegalArgumentException("--data: expected a path or synthetic:NAME but found nothing");
        }
        positive("--seq-len", seqLen);
        positive("--batch", batch);
        positive("--hidden", hidden);
        positive("--layers", layers);
        positive("--partitions", partitions);
        positive("--averaging-frequency", averagingFrequency);
        positive("--eval-windows", evalWindows);
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("--lr: expected a positive number but found " + lr);
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("--seconds: expected a positive number but found " + seconds);
        }
        if (steps < 0) {
            throw new IllegalArgumentException("--steps: expected 0 (no limit) or more but found " + steps);
        }
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new IllegalArgumentException(
                    "--validation-fraction: expected a number in (0, 1) but found " + validationFraction);
        }
        if (approach == null) {
            throw new IllegalArgumentException("--approach: expected direct or export but found nothing");
        }
        if (approach == Approach.EXPORT && (exportParent == null || exportParent.isBlank())) {
            throw new IllegalArgumentException("--export-dir: the export approach needs a directory but found nothing");
        }
    }

    private static void positive(String option, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + ": expected at least 1 but found " + value);
        }
    }
}
