package io.ssmspark.jobs.score;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.exchange.TaskExchange;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mixer;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * One scoring task: scores its segments ({@link SegmentWaves}: one per wave, in ordinal order) with the other
 * tasks of the wave, layer by layer, exchanging through the driver only what DESIGN.md's "State passing across
 * segments" asks for:
 * <ul>
 * <li>every segment sends its mixer's tail ({@link Mixer#halo}: a Mamba2 layer's last K−1 pre-conv rows, an
 * attention layer's last window−1 keys and values, all of them under full attention) and gets back its halo, the
 * last rows of the tails before it; it runs its mixer from a zero state after them ({@link Mixer#fromZeroState});</li>
 * <li>when the mixer carries a state (Mamba2), every segment sends its summary (α, E) and gets back its initial
 * state, the exclusive scan of the summaries before it, and finishes ({@link Mixer#finish}: for Mamba2, adds
 * exp(cum_t)·(S_in·C_t)).</li>
 * </ul>
 * The driver's {@link WaveFold} computes every answer and keeps each sequence's carry from wave to wave, so a task
 * receives one message per round whatever the number of tasks. A task with no segment in the last wave still takes
 * part in its rounds. Yields its scored segments lazily, wave by wave, then its exchange figures. A failure is told
 * to the exchange before it leaves the task ({@link TaskExchange#failed}).
 */
final class WaveTask implements Iterator<WaveOutput> {
    private final HybridLm m;
    private final MambaConfig config;
    private final SegmentLayout layout;
    private final SegmentWaves waves;
    private final RoundSchedule schedule;
    private final int task;
    private final Iterator<Segment> mine;
    private final TaskExchange exchange;
    private final int topK;
    private final boolean withEmbeddings;
    private final int failAtWave;
    private final TaskBytes bytes;
    /** Opens this task's file of scored segments for a commit group. */
    private final java.util.function.IntFunction<ScoredParts.Writer> parts;

    private ScoredParts.Writer open;
    /** The wave this attempt started from (the first after the last commit); −1 before the start round. */
    private int start = -1;

    private int wave;
    private WaveOutput ready;
    private boolean exchangeReported;
    private long exchangeNanos;

    /**
     * @param parts opens this task's file of a commit group's scored segments ({@link ScoredParts.Writer})
     * @param failAtWave a test hook: the wave at which this task fails (−1: none)
     */
    WaveTask(
            HybridLm m,
            SegmentLayout layout,
            RoundSchedule schedule,
            int task,
            Iterator<Segment> mine,
            TaskExchange exchange,
            java.util.function.IntFunction<ScoredParts.Writer> parts,
            int topK,
            boolean withEmbeddings,
            int failAtWave) {
        this.m = m;
        this.config = m.config();
        this.layout = layout;
        this.schedule = schedule;
        this.waves = schedule.waves;
        this.parts = parts;
        this.task = task;
        this.mine = mine;
        this.exchange = exchange;
        this.topK = topK;
        this.withEmbeddings = withEmbeddings;
        this.failAtWave = failAtWave;
        this.bytes = new TaskBytes(config.nLayer());
    }

    /**
     * The exchange rounds one layer takes in every wave, for every task ({@link #mixerLayer}): one for the halo
     * rows, and a second for the summaries when the layer's mixer carries a state. The driver's progress lines count
     * rounds by this ({@link ScoreProgress}).
     */
    static int[] roundsPerLayer(HybridLm model) {
        int[] rounds = new int[model.config().nLayer()];
        for (int l = 0; l < rounds.length; l++) {
            rounds[l] = model.mixer(l).carriesState() ? 2 : 1;
        }
        return rounds;
    }

    /**
     * Runs every wave from the attempt's start on the first call, committing each group's scored segments as it
     * ends; then yields this task's exchange figures, once.
     */
    @Override
    public boolean hasNext() {
        try {
            if (start < 0) {
                start = ByteBuffer.wrap(round(new byte[0])[0]).getInt();
                wave = start;
            }
            while (wave < waves.waves()) {
                runWave(wave);
                if (schedule.commitsAfter(wave)) {
                    commit(schedule.groupOf(wave));
                }
                wave++;
            }
            if (ready == null && !exchangeReported) {
                exchangeReported = true;
                exchange.finish();
                ready = WaveOutput.exchanged(task, bytes, exchangeNanos, start);
            }
            return ready != null;
        } catch (RuntimeException | Error e) {
            if (open != null) {
                open.close();
            }
            exchange.failed(e);
            throw e;
        }
    }

    /** Hands in this task's file of the group at the group's commit round (no file when it scored nothing in it). */
    private void commit(int group) {
        ScoredParts.HandedIn handed = open == null
                ? new ScoredParts.HandedIn(group, null, java.util.List.of())
                : new ScoredParts.HandedIn(group, open.commit(), open.briefs());
        open = null;
        round(handed.encode());
    }

    /** One round of the exchange (timed): this task's message out, the hub's answer in. */
    private byte[][] round(byte[] message) {
        long t0 = System.nanoTime();
        byte[][] answer = exchange.round(message);
        exchangeNanos += System.nanoTime() - t0;
        return answer;
    }

    @Override
    public WaveOutput next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        WaveOutput out = ready;
        ready = null;
        return out;
    }

    /** Runs wave k through every layer; this task's scored segment, if it has one in the wave, goes to its file. */
    private void runWave(int k) {
        if (k == failAtWave) {
            throw new IllegalStateException(
                    "injected failure of scoring task " + task + " at wave " + k + " (test hook)");
        }
        int ordinal = waves.ordinal(k, task);
        Segment segment = ordinal < 0 ? null : nextSegment(ordinal);
        try (SegmentPass pass = segment == null ? null : SegmentPass.embed(m, ordinal, segment)) {
            for (int layer = 0; layer < config.nLayer(); layer++) {
                mixerLayer(k, layer, pass);
            }
            if (pass != null) {
                if (open == null) {
                    open = parts.apply(schedule.groupOf(k));
                }
                open.append(pass.head(layout.nextToken[ordinal], topK, withEmbeddings));
            }
        }
    }

    /** This task's next segment, which must be {@code ordinal}; those of committed waves are passed over. */
    private Segment nextSegment(int ordinal) {
        Segment s;
        int got;
        do {
            if (!mine.hasNext()) {
                throw new IllegalStateException("scoring task " + task + ": segment " + ordinal + " did not reach it");
            }
            s = mine.next();
            got = layout.ordinal(s.sequenceId, s.segmentIndex);
        } while (got < waves.firstOf(start));
        if (got != ordinal) {
            throw new IllegalStateException("scoring task " + task + ": expected segment " + ordinal + " but received "
                    + got + " (sequence '" + s.sequenceId + "', segment " + s.segmentIndex + ")");
        }
        return s;
    }

    /**
     * One layer of wave k: the segment sends its mixer's tail and gets its halo; when the mixer carries a state, it
     * sends its summary and gets its initial state. A task without a segment sends nothing in the same rounds.
     */
    private void mixerLayer(int k, int layer, SegmentPass pass) {
        Mixer mixer = m.mixer(layer);
        int own = waves.ordinal(k, task);
        SegmentRows halo = exchange(
                k, layer, pass == null ? SegmentRows.NONE : feedsLaterSegments(own) ? pass.tail(layer) : silent(own));
        Function<SegmentRows, Matrix> scan = summary -> exchange(
                        k,
                        layer,
                        summary.ordinal == SegmentRows.NO_SEGMENT || feedsLaterSegments(own) ? summary : silent(own))
                .first;
        if (pass != null) {
            pass.layer(layer, halo.first == null ? null : halo, scan);
        } else if (mixer.carriesState()) {
            scan.apply(SegmentRows.NONE);
        }
    }

    /** Whether a later segment of the same sequence reads what segment {@code ordinal} shares. */
    private boolean feedsLaterSegments(int ordinal) {
        return layout.nextToken[ordinal] >= 0;
    }

    /** The message of a sequence's last segment: present, with nothing to hand on. */
    private static SegmentRows silent(int ordinal) {
        return new SegmentRows(ordinal, null, null);
    }

    /** Sends {@code message} to the driver's fold; returns this task's answer (blocks absent: nothing to read). */
    private SegmentRows exchange(int k, int layer, SegmentRows message) {
        byte[][] answer = round(message.encode());
        if (answer.length != 1) {
            throw new IllegalStateException("segment exchange: wave " + k + " at layer " + layer + " got "
                    + answer.length + " answers instead of one");
        }
        SegmentRows mine = SegmentRows.decode(answer[0]);
        bytes.round(layer, message.bytes(), mine.bytes());
        return mine;
    }
}
