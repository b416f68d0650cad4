package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.exchange.ExchangeClient;
import io.ssmspark.jobs.exchange.ExchangeHub;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.SparkConf;

/**
 * Times rounds of the driver's exchange hub on loopback: a hub started as the scorer starts it (no authentication)
 * and {@code width} clients in threads of this process, each sending one message per round and receiving all.
 */
final class HubRounds {
    private HubRounds() {}

    /** Seconds per round of {@code rounds} rounds (after {@code rounds / 10} warm-up rounds) of messages of {@code bytes}. */
    static double secondsPerRound(int width, int bytes, int rounds) {
        SparkConf conf =
                new SparkConf(false).set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        int warmup = Math.max(1, rounds / 10);
        ExecutorService pool = Executors.newFixedThreadPool(width);
        try (ExchangeHub hub = ExchangeHub.start(conf, width, width)) {
            List<Future<Long>> tasks = new ArrayList<>();
            for (int t = 0; t < width; t++) {
                int task = t;
                tasks.add(pool.submit(() -> {
                    byte[] message = new byte[bytes];
                    try (ExchangeClient c = new ExchangeClient(hub.address(), 0, task, () -> false)) {
                        for (int r = 0; r < warmup; r++) {
                            c.round(message);
                        }
                        long t0 = System.nanoTime();
                        for (int r = 0; r < rounds; r++) {
                            c.round(message);
                        }
                        long elapsed = System.nanoTime() - t0;
                        c.finish();
                        return elapsed;
                    }
                }));
            }
            long slowest = 0;
            for (Future<Long> f : tasks) {
                slowest = Math.max(slowest, f.get());
            }
            return slowest / 1e9 / rounds;
        } catch (Exception e) {
            throw new IllegalStateException("timing the exchange hub on loopback failed: " + e, e);
        } finally {
            pool.shutdownNow();
        }
    }
}
