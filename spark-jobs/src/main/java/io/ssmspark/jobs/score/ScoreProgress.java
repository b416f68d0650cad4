package io.ssmspark.jobs.score;

import io.ssmspark.jobs.exchange.ExchangeHub;
import io.ssmspark.jobs.spark.Progress;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The progress lines of a scoring stage, logged on the driver at a fixed interval: the wave and the layer the tasks
 * are at, the segments and tokens through every layer, tokens/s, elapsed time and ETA, and the share of the tasks'
 * time spent waiting for each other in the exchange.
 *
 * <p>Where the driver sees progress: its {@link ExchangeHub} counts the exchange rounds that all tasks have
 * completed, and every wave takes the same rounds per layer ({@link WaveTask#roundsPerLayer}), so the count says which
 * wave and layer the stage is at. Spark's own channels would not do: accumulators and listener events arrive when a
 * task ends, and a scoring task lasts the whole stage. The hub runs on the driver, so this works alike in local mode
 * and on a cluster.
 */
final class ScoreProgress implements AutoCloseable {
    private final SegmentWaves waves;
    private final int layers;
    /** Rounds of one wave through layer l, inclusive. */
    private final int[] roundsThrough;
    /** Tokens of the segments of waves [0, k). */
    private final long[] tokensBefore;

    private final Supplier<ExchangeHub.Rounds> rounds;
    private final Consumer<String> out;
    private final long start = System.nanoTime();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ssm-score-progress");
        t.setDaemon(true);
        return t;
    });
    private boolean closed;

    ScoreProgress(
            SegmentLayout layout,
            SegmentWaves waves,
            int[] roundsPerLayer,
            Supplier<ExchangeHub.Rounds> rounds,
            Consumer<String> out) {
        this.waves = waves;
        this.layers = roundsPerLayer.length;
        this.rounds = rounds;
        this.out = out;
        roundsThrough = new int[layers];
        for (int l = 0, sum = 0; l < layers; l++) {
            sum += roundsPerLayer[l];
            roundsThrough[l] = sum;
        }
        tokensBefore = new long[waves.waves() + 1];
        for (int k = 0; k < waves.waves(); k++) {
            long tokens = 0;
            for (int g = waves.firstOf(k); g < waves.endOf(k); g++) {
                tokens += layout.lengths[g];
            }
            tokensBefore[k + 1] = tokensBefore[k] + tokens;
        }
    }

    /** Logs a line every {@code intervalNanos} until {@link #finish} or {@link #close}. */
    ScoreProgress start(long intervalNanos) {
        timer.scheduleAtFixedRate(this::tick, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
        return this;
    }

    /** The rounds of the whole stage. */
    long totalRounds() {
        return (long) waves.waves() * roundsThrough[layers - 1];
    }

    /** The progress line once {@code r.completed()} rounds of the stage are done, {@code elapsedSeconds} in. */
    String line(ExchangeHub.Rounds r, double elapsedSeconds) {
        long done = Math.min(r.completed(), totalRounds());
        int perWave = roundsThrough[layers - 1];
        int wavesDone = (int) (done / perWave);
        int layersDone = 0;
        if (wavesDone < waves.waves()) {
            long within = done % perWave;
            while (roundsThrough[layersDone] <= within) {
                layersDone++;
            }
        }
        boolean all = wavesDone == waves.waves();
        String counts = String.format(
                Locale.ROOT,
                "wave %d/%d  layer %d/%d  segments %d/%d",
                all ? wavesDone : wavesDone + 1,
                waves.waves(),
                all ? layers : layersDone,
                layers,
                wavesDone == 0 ? 0 : waves.endOf(wavesDone - 1),
                waves.segments);
        double fraction = (wavesDone * (double) layers + layersDone) / ((double) waves.waves() * layers);
        String line =
                Progress.line(fraction, counts, tokensBefore[wavesDone], tokensBefore[waves.waves()], elapsedSeconds);
        if (!Double.isNaN(r.waitShare())) {
            line += String.format(Locale.ROOT, "  exchange wait %.0f%%", 100 * r.waitShare());
        }
        return r.attempt() == 0 ? line : line + "  (stage attempt " + (r.attempt() + 1) + ")";
    }

    private synchronized void tick() {
        if (!closed) {
            out.accept(line(rounds.get(), elapsedSeconds()));
        }
    }

    /** Stops the timer and logs the closing line: every wave through every layer. */
    synchronized void finish() {
        close();
        ExchangeHub.Rounds r = rounds.get();
        out.accept(line(new ExchangeHub.Rounds(r.attempt(), totalRounds(), r.waitShare()), elapsedSeconds()));
    }

    private double elapsedSeconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    @Override
    public synchronized void close() {
        closed = true;
        timer.shutdownNow();
    }
}
