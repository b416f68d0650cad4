package io.ssmspark.jobs.score;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.exchange.AllGather;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mixer;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * One scoring task: scores its segments ({@link SegmentWaves}: one per wave, in ordinal order) with the other
 * tasks of the wave, layer by layer, exchanging only what DESIGN.md's "State passing across segments" asks for:
 * <ul>
 * <li>every segment shares its mixer's tail ({@link Mixer#halo}: a Mamba2 layer's last K−1 pre-conv rows, an
 * attention layer's last window−1 keys and values, all of them under full attention); each builds its halo from
 * the tails of the segments before it (the carry of earlier waves, then this wave's) and runs its mixer from a zero
 * state ({@link Mixer#fromZeroState});</li>
 * <li>when the mixer carries a state (Mamba2), every segment shares its summary (α, E); each takes the exclusive
 * scan of the summaries before it as its initial state and finishes ({@link Mixer#finish}: for Mamba2, adds
 * exp(cum_t)·(S_in·C_t)).</li>
 * </ul>
 * Every task sees every message of its wave, so every task keeps the same {@link SequenceCarry} of each sequence
 * that continues into the next wave: nothing goes through the driver between waves. A task with no segment in the
 * last wave still takes part in its exchanges. Yields its scored segments lazily, wave by wave, then its exchange
 * figures. A failure is told to the exchange before it leaves the task ({@link AllGather#failed}).
 */
final class WaveTask implements Iterator<WaveOutput> {
    private final HybridLm m;
    private final MambaConfig config;
    private final SegmentLayout layout;
    private final SegmentWaves waves;
    private final int task;
    private final Iterator<Segment> mine;
    private final AllGather allGather;
    private final int topK;
    private final boolean withEmbeddings;
    private final int failAtWave;
    private final Map<Integer, SequenceCarry> carries = new HashMap<>();
    private final long[] bytesUp;
    private final long[] bytesDown;
    private int wave;
    private WaveOutput ready;
    private boolean exchangeReported;
    private long exchangeNanos;

    /** @param failAtWave a test hook: the wave at which this task fails (−1: none) */
    WaveTask(
            HybridLm m,
            SegmentLayout layout,
            SegmentWaves waves,
            int task,
            Iterator<Segment> mine,
            AllGather allGather,
            int topK,
            boolean withEmbeddings,
            int failAtWave) {
        this.m = m;
        this.config = m.config();
        this.layout = layout;
        this.waves = waves;
        this.task = task;
        this.mine = mine;
        this.allGather = allGather;
        this.topK = topK;
        this.withEmbeddings = withEmbeddings;
        this.failAtWave = failAtWave;
        this.bytesUp = new long[config.nLayer()];
        this.bytesDown = new long[config.nLayer()];
    }

    /**
     * The all-gather rounds one layer takes in every wave, for every task ({@link #mixerLayer}): one for the halo
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

    @Override
    public boolean hasNext() {
        try {
            while (ready == null && wave < waves.waves()) {
                ready = runWave(wave++);
            }
            if (ready == null && !exchangeReported) {
                exchangeReported = true;
                allGather.finish();
                ready = WaveOutput.exchanged(task, bytesUp, bytesDown, exchangeNanos);
            }
            return ready != null;
        } catch (RuntimeException | Error e) {
            allGather.failed(e);
            throw e;
        }
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

    /** Runs wave k through every layer; returns this task's scored segment, or null when it has none in it. */
    private WaveOutput runWave(int k) {
        if (k == failAtWave) {
            throw new IllegalStateException(
                    "injected failure of scoring task " + task + " at wave " + k + " (test hook)");
        }
        int ordinal = waves.ordinal(k, task);
        Segment segment = ordinal < 0 ? null : nextSegment(ordinal);
        for (int g = waves.firstOf(k); g < waves.endOf(k); g++) {
            if (g == layout.firstOrdinal[layout.sequenceOf(g)]) {
                carries.put(layout.sequenceOf(g), new SequenceCarry(config.nLayer())); // a sequence starts
            }
        }
        WaveOutput out = null;
        try (SegmentPass pass = segment == null ? null : SegmentPass.embed(m, ordinal, segment)) {
            for (int layer = 0; layer < config.nLayer(); layer++) {
                mixerLayer(k, layer, pass);
            }
            if (pass != null) {
                out = WaveOutput.of(pass.head(layout.nextToken[ordinal], topK, withEmbeddings));
            }
        }
        for (int g = waves.firstOf(k); g < waves.endOf(k); g++) {
            int s = layout.sequenceOf(g);
            if (g == layout.firstOrdinal[s + 1] - 1) {
                carries.remove(s); // the sequence ended in this wave
            }
        }
        return out;
    }

    private Segment nextSegment(int ordinal) {
        if (!mine.hasNext()) {
            throw new IllegalStateException("scoring task " + task + ": segment " + ordinal + " did not reach it");
        }
        Segment s = mine.next();
        int got = layout.ordinal(s.sequenceId, s.segmentIndex);
        if (got != ordinal) {
            throw new IllegalStateException("scoring task " + task + ": expected segment " + ordinal + " but received "
                    + got + " (sequence '" + s.sequenceId + "', segment " + s.segmentIndex + ")");
        }
        return s;
    }

    /**
     * One layer of wave k: every segment shares its mixer's tail; each builds its halo from the segments before it;
     * when the mixer carries a state, every segment shares its summary and takes the scan of those before it.
     */
    private void mixerLayer(int k, int layer, SegmentPass pass) {
        Mixer mixer = m.mixer(layer);
        int haloRows = mixer.haloRows();
        int own = waves.ordinal(k, task);
        SegmentRows[] tails = gather(
                k, layer, pass == null ? SegmentRows.NONE : feedsLaterSegments(own) ? pass.tail(layer) : silent(own));
        SegmentRows halo = null;
        for (int g = waves.firstOf(k); g < waves.endOf(k); g++) {
            SequenceCarry c = carryOf(g);
            if (g == own) {
                halo = c.halo(layer);
            }
            c.addTail(layer, tails[g - waves.firstOf(k)], haloRows);
        }
        Function<SegmentRows, Matrix> scan = summary -> {
            SegmentRows[] all = gather(
                    k,
                    layer,
                    summary.ordinal == SegmentRows.NO_SEGMENT || feedsLaterSegments(own) ? summary : silent(own));
            Matrix initial = null;
            for (int g = waves.firstOf(k); g < waves.endOf(k); g++) {
                SequenceCarry c = carryOf(g);
                if (g == own) {
                    initial = c.state(layer);
                }
                c.addSummary(layer, all[g - waves.firstOf(k)], mixer);
            }
            return initial;
        };
        if (pass != null) {
            pass.layer(layer, halo, scan);
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

    /** Shares {@code message} with the wave's tasks; returns every segment's message, indexed from the wave start. */
    private SegmentRows[] gather(int k, int layer, SegmentRows message) {
        long start = System.nanoTime();
        byte[][] texts = allGather.allGather(message.encode());
        exchangeNanos += System.nanoTime() - start;
        int first = waves.firstOf(k);
        SegmentRows[] byPosition = new SegmentRows[waves.endOf(k) - first];
        long up = 0;
        for (byte[] text : texts) {
            SegmentRows r = SegmentRows.decode(text);
            up += r.bytes();
            if (r.ordinal == SegmentRows.NO_SEGMENT) {
                continue;
            }
            if (r.ordinal < first || r.ordinal >= waves.endOf(k) || byPosition[r.ordinal - first] != null) {
                throw new IllegalStateException("segment exchange: wave " + k + " of segments [" + first + ", "
                        + waves.endOf(k) + ") received a message of segment " + r.ordinal);
            }
            byPosition[r.ordinal - first] = r;
        }
        for (int i = 0; i < byPosition.length; i++) {
            if (byPosition[i] == null) {
                throw new IllegalStateException("segment exchange: wave " + k + " received no message of segment "
                        + (first + i) + " at layer " + layer);
            }
        }
        bytesUp[layer] += up;
        bytesDown[layer] += up * texts.length;
        return byPosition;
    }

    private SequenceCarry carryOf(int ordinal) {
        SequenceCarry c = carries.get(layout.sequenceOf(ordinal));
        if (c == null) {
            throw new IllegalStateException(
                    "scoring task " + task + ": no carry for the sequence of segment " + ordinal);
        }
        return c;
    }
}
