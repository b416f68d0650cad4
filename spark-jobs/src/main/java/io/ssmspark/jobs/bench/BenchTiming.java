package io.ssmspark.jobs.bench;

import java.util.Arrays;

/** Warm-up then timed repetitions of a piece of work; reports the median and the minimum. */
public record BenchTiming(double medianSeconds, double minSeconds, int runs) {

  public static BenchTiming measure(int warmups, int runs, Runnable work) {
    if (runs < 1 || warmups < 0) {
      throw new IllegalArgumentException("--runs must be ≥ 1 and --warmup ≥ 0, got " + runs + " and " + warmups);
    }
    for (int i = 0; i < warmups; i++) {
      work.run();
    }
    double[] seconds = new double[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      work.run();
      seconds[i] = (System.nanoTime() - t0) / 1e9;
    }
    Arrays.sort(seconds);
    double median = runs % 2 == 1 ? seconds[runs / 2] : (seconds[runs / 2 - 1] + seconds[runs / 2]) / 2;
    return new BenchTiming(median, seconds[0], runs);
  }
}
