package io.ssmspark.jobs.score;

import io.ssmspark.jobs.spark.Progress;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The progress lines of a scoring stage, logged on the driver at a fixed interval: the wave and the layer the tasks
 * are at, the segments and tokens through every layer, tokens/s, elapsed time and ETA, the share of the tasks' time
 * spent waiting for each other in the exchange, and the waves committed (durable, {@link CommitLog}).
 *
 * <p>Where the driver sees progress: its exchange hub counts the rounds that all tasks of the stage attempt have
 * completed, and every attempt takes the rounds of the {@link RoundSchedule} from its start wave, so the count says
 * which wave and layer the stage is at. Spark's own channels would not do: accumulators and listener events arrive
 * when a task ends, and a scoring task lasts the whole stage. The hub runs on the driver, so this works alike in
 * local mode and on a cluster.
 */
final class ScoreProgress implements AutoCloseable {
    /**
     * Where the stage is: its attempt, the wave the attempt started from, the rounds the attempt has completed, the
     * exchange wait share (NaN: none yet) and the waves committed.
     */
    record Position(int attempt, int startWave, long completed, double waitShare, int committedWaves) {}

    private final RoundSchedule schedule;
    private final SegmentWaves waves;
    private final int layers;
    /** Tokens of the segments of waves [0, k). */
    private final long[] tokensBefore;
    /** The waves committed before this run started (a resumed run). */
    private final int resumedAt;

    private final Supplier<Position> position;
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
            RoundSchedule schedule,
            int layers,
            int resumedAt,
            Supplier<Position> position,
            Consumer<String> out) {
        this.schedule = schedule;
        this.waves = schedule.waves;
        this.layers = layers;
        this.resumedAt = resumedAt;
        this.position = position;
        this.out = out;
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

    /** The progress line at {@code p}, {@code elapsedSeconds} into this run. */
    String line(Position p, double elapsedSeconds) {
        int wavesDone;
        int layersDone = 0;
        if (p.completed() >= schedule.rounds(p.startWave())) {
            wavesDone = waves.waves();
        } else {
            RoundSchedule.Step next = schedule.at(p.startWave(), p.completed()); // the round not yet completed
            switch (next.kind()) {
                case START -> wavesDone = p.startWave();
                case COMMIT -> wavesDone = next.wave() + 1;
                default -> {
                    wavesDone = next.wave();
                    layersDone = next.layer();
                }
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
        double total = (double) waves.waves() * layers;
        double fraction = (wavesDone * (double) layers + layersDone) / total;
        String line = Progress.line(
                fraction,
                counts,
                tokensBefore[wavesDone],
                tokensBefore[waves.waves()],
                elapsedSeconds,
                resumedAt * (double) layers / total,
                tokensBefore[resumedAt]);
        if (!Double.isNaN(p.waitShare())) {
            line += String.format(Locale.ROOT, "  exchange wait %.0f%%", 100 * p.waitShare());
        }
        line += "  committed " + p.committedWaves() + "/" + waves.waves() + " waves";
        return p.attempt() == 0 ? line : line + "  (stage attempt " + (p.attempt() + 1) + ")";
    }

    private synchronized void tick() {
        if (!closed) {
            out.accept(line(position.get(), elapsedSeconds()));
        }
    }

    /** Stops the timer and logs the closing line: every wave through every layer. */
    synchronized void finish() {
        close();
        Position p = position.get();
        out.accept(line(
                new Position(p.attempt(), p.startWave(), Long.MAX_VALUE, p.waitShare(), p.committedWaves()),
                elapsedSeconds()));
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
