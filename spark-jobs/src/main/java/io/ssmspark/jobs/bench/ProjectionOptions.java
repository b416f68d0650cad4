package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.spark.SparkSessions;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/**
 * {@code bench train --project P,...}: measures the cost model's constants on the master ({@link CostMeasurements}),
 * then prints one JSON line of them and one per (model, executors, path) projected by {@link TrainProjection}, with a
 * table of the same on stderr.
 */
public final class ProjectionOptions {
    private static final double GIB = 1024.0 * 1024 * 1024;

    @Option(
            names = "--project",
            split = ",",
            paramLabel = "EXECUTORS",
            description = "Instead of timing training here, measure the cost model's constants and project a step"
                    + " on these executor counts (e.g. 8,64,256); docs/scaling.md.")
    int[] executors;

    @Option(
            names = "--project-models",
            split = ",",
            description = "Models to project: bench, 130m, 1.3b (default: all).")
    String[] models = {"bench", "130m", "1.3b"};

    @Option(names = "--window", description = "Tokens per window in the projection (default: ${DEFAULT-VALUE}).")
    int window = 2048;

    @Option(
            names = "--windows-per-executor",
            description = "Windows each executor trains on per step (default: ${DEFAULT-VALUE}).")
    int windowsPerExecutor = 1;

    @Option(
            names = "--network-gbps",
            description = "Each executor's and the driver's link, Gb/s each way (default: ${DEFAULT-VALUE}).")
    double networkGbps = 10;

    @Option(
            names = "--shards",
            description = "Reducers of the sharded path, at most one per executor; 0 = one per executor (default:"
                    + " ${DEFAULT-VALUE}).")
    int shards = 0;

    @Option(names = "--executor-memory-gb", description = "Executor memory, GiB (default: ${DEFAULT-VALUE}).")
    double executorMemoryGb = 32;

    @Option(names = "--driver-memory-gb", description = "Driver memory, GiB (default: ${DEFAULT-VALUE}).")
    double driverMemoryGb = 32;

    public boolean requested() {
        return executors != null;
    }

    /** Measures on {@code master}, prints the constants and the projection; returns the exit code. */
    public int run(String master) {
        if (window < 1 || windowsPerExecutor < 1 || !(networkGbps > 0) || shards < 0) {
            throw new IllegalArgumentException(
                    "--window, --windows-per-executor and --network-gbps must be positive, --shards >= 0");
        }
        List<ModelShape> shapes = new ArrayList<>();
        for (String m : models) {
            shapes.add(shape(m));
        }
        SparkSession spark = SparkSessions.builder("ssm-spark bench train --project")
                .master(master)
                .build();
        MeasuredCosts costs;
        try {
            costs = new CostMeasurements(spark).measure(window, 128L << 20, 64L << 20);
        } finally {
            spark.stop();
        }
        double networkBytesPerSecond = networkGbps * 1e9 / 8;
        System.out.println(costs.toJson(master, networkBytesPerSecond)
                .put(
                        "load_average_1m",
                        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        TrainProjection.Setup setup = new TrainProjection.Setup(
                (long) window * windowsPerExecutor,
                networkBytesPerSecond,
                shards,
                (long) (executorMemoryGb * GIB),
                (long) (driverMemoryGb * GIB));
        TrainProjection projection = new TrainProjection(costs, setup);
        List<TrainProjection.Step> steps = new ArrayList<>();
        for (ModelShape shape : shapes) {
            for (int p : executors) {
                for (TrainProjection.Path path : TrainProjection.Path.values()) {
                    TrainProjection.Step step = projection.step(shape, p, path);
                    steps.add(step);
                    System.out.println(step.toJson(setup));
                }
            }
        }
        System.err.print(table(steps, setup));
        return 0;
    }

    static ModelShape shape(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "bench" -> ModelShape.benchModel();
            case "130m" -> ModelShape.mamba2With130mShape();
            case "1.3b" -> ModelShape.mamba2With1p3bShape();
            default ->
                throw new IllegalArgumentException("--project-models: expected bench, 130m or 1.3b but found " + name);
        };
    }

    /** The projection as a Markdown table (the one in docs/scaling.md); "over" marks memory past the setup's. */
    static String table(List<TrainProjection.Step> steps, TrainProjection.Setup setup) {
        StringBuilder s = new StringBuilder();
        s.append(
                "| model | executors | path | step s | compute s | grad pack s | comm s | comm share | fold+opt s | sched s"
                        + " | busiest link GB | driver recv GB | executor GiB | driver GiB |\n");
        s.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (TrainProjection.Step t : steps) {
            s.append(String.format(
                    Locale.ROOT,
                    "| %s | %d | %s | %.3g | %.3g | %.3g | %.3g | %.0f%% | %.3g | %.3g | %.3g | %.3g | %.3g%s | %.3g%s |\n",
                    t.model().name(),
                    t.executors(),
                    t.path() == TrainProjection.Path.DRIVER_FOLD ? "driver fold" : "sharded K=" + t.shards(),
                    t.stepSeconds(),
                    t.computeSeconds(),
                    t.taskGradientSeconds(),
                    t.communicationSeconds(),
                    100 * t.communicationShare(),
                    t.foldSeconds() + t.optimizerSeconds(),
                    t.schedulingSeconds(),
                    t.busiestLinkBytes() / 1e9,
                    t.driverBytesReceived() / 1e9,
                    t.executorBytes() / GIB,
                    t.executorBytes() > setup.executorMemoryBytes() ? " over" : "",
                    t.driverBytes() / GIB,
                    t.driverBytes() > setup.driverMemoryBytes() ? " over" : ""));
        }
        return s.toString();
    }
}
