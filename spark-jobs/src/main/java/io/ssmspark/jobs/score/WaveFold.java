package io.ssmspark.jobs.score;

import io.ssmspark.jobs.exchange.RoundFold;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mixer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The driver's side of a scoring stage attempt's rounds (DESIGN.md, "State passing across segments"), run by the
 * exchange hub once all of a round's messages are in: it answers each task with only what that task's segment
 * reads, so the driver receives W messages and sends W per round, not W². The rounds follow the
 * {@link RoundSchedule}:
 * <ul>
 * <li>the start round: every task gets the wave the attempt starts from, the first after the last commit;</li>
 * <li>a halo round of layer l: each segment's tail in, and out to each segment the last {@link Mixer#haloRows} rows
 * of the tails before it in its sequence (none at the sequence's start);</li>
 * <li>a summary round (a mixer that carries a state): each segment's summary in, and out to each its initial state,
 * the exclusive scan of the summaries before it ({@link Mixer#passState}, in sequence order; none, zeros, at the
 * start);</li>
 * <li>a commit round: each task's file of the group's scored segments in; the group is recorded in the
 * {@link CommitLog} with the carries after it.</li>
 * </ul>
 * It keeps one {@link SequenceCarry} per sequence in flight, from wave to wave, starting from the last commit's.
 * One fold serves one stage attempt.
 */
final class WaveFold implements RoundFold {
    private static final byte[] NOTHING = SegmentRows.NONE.encode();

    private final HybridLm m;
    private final SegmentLayout layout;
    private final RoundSchedule schedule;
    private final CommitLog log;
    private final int start;
    private final Map<Integer, SequenceCarry> carries;

    WaveFold(HybridLm m, SegmentLayout layout, RoundSchedule schedule, CommitLog log) {
        this.m = m;
        this.layout = layout;
        this.schedule = schedule;
        this.log = log;
        this.start = log.nextWave();
        this.carries = log.carries();
    }

    /** The wave this attempt started from. */
    int start() {
        return start;
    }

    /**
     * The driver's one thread for every fold's work: its passState calls reuse that thread's step block, instead of
     * a workspace per call on whichever hub connection thread completed the round (one per task).
     */
    private static final ExecutorService FOLDING = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "ssm-score-fold");
        t.setDaemon(true);
        return t;
    });

    @Override
    public byte[][] answer(int round, byte[][] messages) {
        try {
            return FOLDING.submit(() -> answerHere(round, messages)).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("segment exchange: the fold of round " + round + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("segment exchange: interrupted while folding round " + round, e);
        }
    }

    private byte[][] answerHere(int round, byte[][] messages) {
        RoundSchedule.Step step = schedule.at(start, round);
        byte[][] answers = new byte[messages.length][];
        switch (step.kind()) {
            case START ->
                java.util.Arrays.fill(
                        answers, ByteBuffer.allocate(4).putInt(start).array());
            case COMMIT -> {
                commit(step.wave(), messages);
                java.util.Arrays.fill(answers, NOTHING);
            }
            default -> {
                if (schedule.firstOfWave(start, round)) {
                    startSequences(step.wave());
                }
                exchange(step, messages, answers);
                if (schedule.lastOfWave(start, round)) {
                    endSequences(step.wave());
                }
            }
        }
        return answers;
    }

    private void exchange(RoundSchedule.Step step, byte[][] messages, byte[][] answers) {
        int k = step.wave();
        int layer = step.layer();
        SegmentRows[] sent = byTask(k, layer, messages);
        Mixer mixer = m.mixer(layer);
        for (int task = 0; task < messages.length; task++) {
            int g = schedule.waves.ordinal(k, task);
            if (g < 0) {
                answers[task] = NOTHING;
                continue;
            }
            SequenceCarry c = carryOf(g);
            SegmentRows answer;
            if (step.kind() == RoundSchedule.Kind.SUMMARY) {
                answer = new SegmentRows(SegmentRows.NO_SEGMENT, c.state(layer), null);
                c.addSummary(layer, sent[task], mixer);
            } else {
                SegmentRows halo = c.halo(layer);
                answer = halo == null ? SegmentRows.NONE : halo;
                c.addTail(layer, sent[task], mixer.haloRows());
            }
            answers[task] = answer.encode();
        }
    }

    /** The group that ends with wave {@code last}: every task's file and segments, with the carries after it. */
    private void commit(int last, byte[][] messages) {
        int group = schedule.groupOf(last);
        List<ScoredParts.Part> parts = new ArrayList<>();
        List<long[]> briefs = new ArrayList<>();
        for (int task = 0; task < messages.length; task++) {
            ScoredParts.HandedIn h = ScoredParts.HandedIn.decode(messages[task]);
            if (h.group() != group) {
                throw new IllegalStateException("segment exchange: task " + task + " handed in commit group "
                        + h.group() + " at the commit of group " + group);
            }
            if (h.part() != null) {
                parts.add(h.part());
            }
            briefs.addAll(h.briefs());
        }
        log.commit(group, last + 1, carries, parts, briefs);
    }

    /** A carry for each sequence whose first segment is in wave k. */
    private void startSequences(int k) {
        for (int g = schedule.waves.firstOf(k); g < schedule.waves.endOf(k); g++) {
            if (g == layout.firstOrdinal[layout.sequenceOf(g)]) {
                carries.put(layout.sequenceOf(g), new SequenceCarry(m.config().nLayer()));
            }
        }
    }

    /** Drops the carry of each sequence whose last segment is in wave k. */
    private void endSequences(int k) {
        for (int g = schedule.waves.firstOf(k); g < schedule.waves.endOf(k); g++) {
            int s = layout.sequenceOf(g);
            if (g == layout.firstOrdinal[s + 1] - 1) {
                carries.remove(s);
            }
        }
    }

    /** The round's messages, task by task: task j's must be of its segment of wave k (none past the wave's end). */
    private SegmentRows[] byTask(int k, int layer, byte[][] messages) {
        SegmentRows[] sent = new SegmentRows[messages.length];
        for (int task = 0; task < messages.length; task++) {
            SegmentRows r = SegmentRows.decode(messages[task]);
            int expected = schedule.waves.ordinal(k, task);
            if (r.ordinal != expected) {
                throw new IllegalStateException("segment exchange: in wave " + k + " at layer " + layer + ", task "
                        + task + " sent a message of "
                        + (r.ordinal == SegmentRows.NO_SEGMENT ? "no segment" : "segment " + r.ordinal)
                        + " instead of "
                        + (expected < 0 ? "none" : "segment " + expected));
            }
            sent[task] = r;
        }
        return sent;
    }

    private SequenceCarry carryOf(int ordinal) {
        SequenceCarry c = carries.get(layout.sequenceOf(ordinal));
        if (c == null) {
            throw new IllegalStateException(
                    "segment exchange: no carry for the sequence of segment " + ordinal + " (rounds out of order)");
        }
        return c;
    }
}
