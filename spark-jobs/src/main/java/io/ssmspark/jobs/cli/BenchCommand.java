package io.ssmspark.jobs.cli;

import io.ssmspark.jobs.baseline.Dl4jBaselineBench;
import io.ssmspark.jobs.bench.ScanBench;
import io.ssmspark.jobs.bench.ScoreBench;
import io.ssmspark.jobs.bench.SsdBench;
import io.ssmspark.jobs.bench.TrainBench;
import io.ssmspark.jobs.bench.TrainStepBench;
import io.ssmspark.jobs.spark.Interruption;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ssm-spark bench ...}: speed measurements that print one JSON line each. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Measure speed; each bench prints one JSON line on stdout.",
        subcommands = {
            SsdBench.class,
            ScanBench.class,
            TrainStepBench.class,
            TrainBench.class,
            ScoreBench.class,
            Dl4jBaselineBench.class
        })
public final class BenchCommand implements Runnable, Interruption.Leaves {
    /** Every bench prints its figures as JSON lines and writes no file (bench train cleans its scratch up). */
    @Override
    public String leavesWhenInterrupted() {
        return "a bench writes no file; the JSON lines it printed are complete";
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
