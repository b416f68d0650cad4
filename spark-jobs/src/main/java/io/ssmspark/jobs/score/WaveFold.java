package io.ssmspark.jobs.score;

import io.ssmspark.jobs.exchange.RoundFold;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mixer;
import java.util.HashMap;
import java.util.Map;

/**
 * The driver's side of a scoring stage's rounds (DESIGN.md, "State passing across segments"), run by the exchange
 * hub once all of a round's messages are in: it answers each task with only what that task's segment reads, so the
 * driver receives W messages and sends W per round, not W².
 * <ul>
 * <li>a halo round of layer l: each segment's tail in, and out to each segment the last {@link Mixer#haloRows} rows
 * of the tails before it in its sequence (none at the sequence's start);</li>
 * <li>a summary round (a mixer that carries a state): each segment's summary in, and out to each its initial state,
 * the exclusive scan of the summaries before it ({@link Mixer#passState}, in sequence order; none, zeros, at the
 * start).</li>
 * </ul>
 * It keeps one {@link SequenceCarry} per sequence in flight, from wave to wave. Every task takes the same rounds in
 * the same order: per wave, per layer, the halo round, then the summary round where the mixer carries a state
 * ({@link WaveTask#roundsPerLayer}); so the round number says which wave, layer and kind it is. One fold serves one
 * stage attempt.
 */
final class WaveFold implements RoundFold {
    private static final byte[] NOTHING = SegmentRows.NONE.encode();

    private final HybridLm m;
    private final SegmentLayout layout;
    private final SegmentWaves waves;
    /** The layer of each round of a wave. */
    private final int[] layerOfRound;
    /** Whether each round of a wave is a summary round (else a halo round). */
    private final boolean[] summaryRound;

    private final Map<Integer, SequenceCarry> carries = new HashMap<>();

    WaveFold(HybridLm m, SegmentLayout layout, SegmentWaves waves) {
        this.m = m;
        this.layout = layout;
        this.waves = waves;
        int[] perLayer = WaveTask.roundsPerLayer(m);
        int perWave = 0;
        for (int r : perLayer) {
            perWave += r;
        }
        layerOfRound = new int[perWave];
        summaryRound = new boolean[perWave];
        for (int l = 0, i = 0; l < perLayer.length; l++) {
            for (int j = 0; j < perLayer[l]; j++, i++) {
                layerOfRound[i] = l;
                summaryRound[i] = j == 1;
            }
        }
    }

    @Override
    public byte[][] answer(int round, byte[][] messages) {
        int k = round / layerOfRound.length;
        int within = round % layerOfRound.length;
        if (k >= waves.waves()) {
            throw new IllegalStateException("segment exchange: round " + round + " is beyond the stage's "
                    + waves.waves() * layerOfRound.length + " rounds");
        }
        int layer = layerOfRound[within];
        if (within == 0) {
            startSequences(k);
        }
        SegmentRows[] sent = byTask(k, layer, messages);
        Mixer mixer = m.mixer(layer);
        byte[][] answers = new byte[messages.length][];
        for (int task = 0; task < messages.length; task++) {
            int g = waves.ordinal(k, task);
            if (g < 0) {
                answers[task] = NOTHING;
                continue;
            }
            SequenceCarry c = carryOf(g);
            SegmentRows answer;
            if (summaryRound[within]) {
                answer = new SegmentRows(SegmentRows.NO_SEGMENT, c.state(layer), null);
                c.addSummary(layer, sent[task], mixer);
            } else {
                SegmentRows halo = c.halo(layer);
                answer = halo == null ? SegmentRows.NONE : halo;
                c.addTail(layer, sent[task], mixer.haloRows());
            }
            answers[task] = answer.encode();
        }
        if (within == layerOfRound.length - 1) {
            endSequences(k);
        }
        return answers;
    }

    /** A carry for each sequence whose first segment is in wave k. */
    private void startSequences(int k) {
        for (int g = waves.firstOf(k); g < waves.endOf(k); g++) {
            if (g == layout.firstOrdinal[layout.sequenceOf(g)]) {
                carries.put(layout.sequenceOf(g), new SequenceCarry(m.config().nLayer()));
            }
        }
    }

    /** Drops the carry of each sequence whose last segment is in wave k. */
    private void endSequences(int k) {
        for (int g = waves.firstOf(k); g < waves.endOf(k); g++) {
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
            int expected = waves.ordinal(k, task);
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
