package io.ssmspark.jobs.bench;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * Warm-up then timed repetitions of a piece of work; reports the median and minimum wall time, and
 * the median CPU time of the whole process (all threads). On a shared machine the CPU time shows how
 * much of the wall time was this process's own work.
 */
public record BenchTiming(double medianSeconds, double minSeconds, double medianCpuSeconds, int runs) {

    public static BenchTiming measure(int warmups, int runs, Runnable work) {
        if (runs < 1 || warmups < 0) {
            throw new IllegalArgumentException("--runs must be ≥ 1 and --warmup ≥ 0, got " + runs + " and " + warmups);
        }
        for (int i = 0; i < warmups; i++) {
            work.run();
        }
        double[] seconds = new double[runs];
        double[] cpu = new double[runs];
        for (int i = 0; i < runs; i++) {
            long c0 = processCpuNanos();
            long t0 = System.nanoTime();
            work.run();
            seconds[i] = (System.nanoTime() - t0) / 1e9;
            cpu[i] = (processCpuNanos() - c0) / 1e9;
        }
        double minimum = Arrays.stream(seconds).min().orElseThrow();
        return new BenchTiming(median(seconds), minimum, median(cpu), runs);
    }

    /** CPU time of this process so far, all threads, in nanoseconds (-1 when the JVM cannot tell). */
    public static long processCpuNanos() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return -1;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
}
