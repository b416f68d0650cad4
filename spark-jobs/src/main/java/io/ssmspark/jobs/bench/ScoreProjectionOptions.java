package io.ssmspark.jobs.bench;

import io.ssmspark.model.lm.HybridLm;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * {@code bench score --project EXECUTORS,TOKENS[,SEGMENT]}: measures the scoring cost model's constants on the bench
 * score model ({@link ScoreMeasurements}), then prints one JSON line of them and one per (run, exchange design)
 * projected by {@link ScoreProjection}, with a Markdown table of the same on stderr.
 */
public final class ScoreProjectionOptions {
    private static final double MIB = 1024.0 * 1024;

    @Option(
            names = "--project",
            paramLabel = "EXECUTORS,TOKENS[,SEGMENT]",
            description = "Instead of scoring here, measure the scoring cost model's constants and project a run of"
                    + " TOKENS tokens (e.g. 3e9) on EXECUTORS executors in segments of SEGMENT tokens; EXECUTORS"
                    + " local[W] projects local mode here (W tasks sharing this machine's cores, loopback only);"
                    + " repeatable; docs/scaling.md, \"Scoring at cluster scale\".")
    List<String> runs;

    @Option(
            names = "--project-segment",
            description = "Segment tokens of a --project run that names none (default: ${DEFAULT-VALUE}).")
    int segment = 16_384;

    @Option(
            names = "--network-gbps",
            description = "The driver's and each executor's link in the projection, Gb/s each way; 0 = loopback"
                    + " only (default: ${DEFAULT-VALUE}).")
    double networkGbps = 10;

    @Option(
            names = "--project-threads",
            description = "ND4J threads of the measured forward, one task's (default: ${DEFAULT-VALUE}, as local[2]"
                    + " gives each task on two cores).")
    int threads = 1;

    @Option(
            names = "--project-measure-tokens",
            description = "Tokens of the timed forward; 0 = the first run's segment, at most 16384 (default:"
                    + " ${DEFAULT-VALUE}).")
    int measureTokens;

    public boolean requested() {
        return runs != null && !runs.isEmpty();
    }

    /** Measures on {@code model}, prints the constants and the projection; returns the exit code. */
    public int run(HybridLm model) {
        if (!(networkGbps > 0) || threads < 1 || measureTokens < 0) {
            throw new IllegalArgumentException(
                    "--network-gbps must be > 0, --project-threads >= 1, --project-measure-tokens >= 0");
        }
        double network = networkGbps * 1e9 / 8;
        List<ScoreProjection.Setup> setups = new ArrayList<>();
        for (String r : runs) {
            setups.add(setup(r, segment, network, Runtime.getRuntime().availableProcessors()));
        }
        int tokens = measureTokens > 0 ? measureTokens : Math.min(setups.get(0).segment(), 16_384);
        ScoreBench.setThreads(threads);
        ScoreShape shape = ScoreShape.of(model);
        ScoreCosts costs = ScoreMeasurements.measure(model, shape, tokens, threads);
        System.out.println(costs.toJson(shape, network)
                .put(
                        "load_average_1m",
                        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        ScoreProjection projection = new ScoreProjection(costs, shape);
        List<ScoreProjection.Run> projected = new ArrayList<>();
        for (ScoreProjection.Setup s : setups) {
            for (ScoreProjection.Design d : ScoreProjection.Design.values()) {
                ScoreProjection.Run run = projection.run(s, d);
                projected.add(run);
                JsonLine line = run.toJson().put("exchange_half_at_executors", projection.exchangeHalfAt(s, d));
                if (d == ScoreProjection.Design.PREFIX) {
                    line.put(
                            "exchanged_value_bytes_per_layer",
                            Arrays.toString(projection.exchangedValueBytesPerLayer(s)));
                }
                System.out.println(line);
            }
        }
        System.err.print(table(projected));
        return 0;
    }

    /**
     * "EXECUTORS,TOKENS[,SEGMENT]" (TOKENS may be written 3e9); EXECUTORS "local[W]": W tasks on this machine's
     * {@code cores}, over loopback.
     */
    static ScoreProjection.Setup setup(String run, int defaultSegment, double network, int cores) {
        String[] parts = run.split(",");
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("--project: expected EXECUTORS,TOKENS[,SEGMENT] but found " + run);
        }
        try {
            String executors = parts[0].trim();
            boolean local = executors.startsWith("local[") && executors.endsWith("]");
            return new ScoreProjection.Setup(
                    Integer.parseInt(local ? executors.substring(6, executors.length() - 1) : executors),
                    Double.parseDouble(parts[1].trim()),
                    parts.length == 3 ? (int) Double.parseDouble(parts[2].trim()) : defaultSegment,
                    local ? 0 : network,
                    local ? cores : 0);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--project: expected EXECUTORS,TOKENS[,SEGMENT] but found " + run, e);
        }
    }

    /** The projection as a Markdown table (the one in docs/scaling.md). */
    static String table(List<ScoreProjection.Run> runs) {
        StringBuilder s = new StringBuilder();
        s.append("| executors | tokens | segment | exchange | waves | wall s | compute s/wave | exchange s/wave"
                + " | carry s/wave | exchange share | driver MB/s | driver msgs/wave | executor MiB |\n");
        s.append("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (ScoreProjection.Run r : runs) {
            s.append(String.format(
                    Locale.ROOT,
                    "| %s | %.3g | %d | %s | %.0f | %.4g | %.3g | %.3g | %.3g | %.1f%% | %.4g | %.3g | %.4g |\n",
                    r.setup().localCores() > 0
                            ? "local[" + r.setup().executors() + "]"
                            : String.valueOf(r.setup().executors()),
                    r.setup().tokens(),
                    r.setup().segment(),
                    r.design().label(),
                    r.waves(),
                    r.wallSeconds(),
                    r.computeSeconds(),
                    r.exchangeSeconds(),
                    r.carrySeconds(),
                    100 * r.exchangeShare(),
                    r.driverBytesPerSecond() / 1e6,
                    r.messagesPerWave(),
                    r.executorBytes() / MIB));
        }
        return s.toString();
    }
}
