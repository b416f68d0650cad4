package io.ssmspark.jobs.score;

import java.io.Serializable;

/**
 * The exchange rounds of a scoring stage attempt, the same in every task: first a start round (the driver tells
 * every task the wave it starts from: 0, or the first wave after the last commit), then per wave, per layer, a halo
 * round and, where the mixer carries a state, a summary round ({@link WaveTask#roundsPerLayer}); after the last wave
 * of every commit group ({@code commitEvery} waves, the last group possibly shorter) a commit round, in which every
 * task hands in the file of its scored segments and the driver records the group as committed ({@link CommitLog}).
 * An attempt starts at the first wave of a group, so round r of it is found without walking the waves.
 */
final class RoundSchedule implements Serializable {
    private static final long serialVersionUID = 1L;

    enum Kind {
        START,
        HALO,
        SUMMARY,
        COMMIT
    }

    /** One round: its kind, its wave (for a commit round: the group's last wave) and layer (−1 for start, commit). */
    record Step(Kind kind, int wave, int layer) {}

    final SegmentWaves waves;
    final int commitEvery;
    /** The layer of each round of a wave, and whether it is a summary round (else a halo round). */
    private final int[] layerOfRound;

    private final boolean[] summaryRound;

    RoundSchedule(SegmentWaves waves, int[] roundsPerLayer, int commitEvery) {
        if (commitEvery < 1) {
            throw new IllegalArgumentException("--commit-every: expected at least 1 wave but found " + commitEvery);
        }
        this.waves = waves;
        this.commitEvery = commitEvery;
        int perWave = 0;
        for (int r : roundsPerLayer) {
            perWave += r;
        }
        layerOfRound = new int[perWave];
        summaryRound = new boolean[perWave];
        for (int l = 0, i = 0; l < roundsPerLayer.length; l++) {
            for (int j = 0; j < roundsPerLayer[l]; j++, i++) {
                layerOfRound[i] = l;
                summaryRound[i] = j == 1;
            }
        }
    }

    /** The rounds of one wave through every layer. */
    int perWave() {
        return layerOfRound.length;
    }

    int groups() {
        return (waves.waves() + commitEvery - 1) / commitEvery;
    }

    int groupOf(int wave) {
        return wave / commitEvery;
    }

    int firstWaveOf(int group) {
        return group * commitEvery;
    }

    /** One past the last wave of the group. */
    int endWaveOf(int group) {
        return Math.min(waves.waves(), (group + 1) * commitEvery);
    }

    /** Whether a commit round follows wave k. */
    boolean commitsAfter(int wave) {
        return wave == endWaveOf(groupOf(wave)) - 1;
    }

    /** Round r of an attempt that starts at wave {@code start} (the first wave of a group, or the end). */
    Step at(int start, long r) {
        if (r == 0) {
            return new Step(Kind.START, start, -1);
        }
        long rest = r - 1;
        long fullGroup = (long) commitEvery * perWave() + 1;
        long group = groupOf(start) + rest / fullGroup;
        long within = rest % fullGroup;
        if (group >= groups()) {
            throw beyond(start, r);
        }
        int g = (int) group;
        int wavesInGroup = endWaveOf(g) - firstWaveOf(g);
        if (within == (long) wavesInGroup * perWave()) {
            return new Step(Kind.COMMIT, endWaveOf(g) - 1, -1);
        }
        if (within > (long) wavesInGroup * perWave()) {
            throw beyond(start, r);
        }
        int wave = firstWaveOf(g) + (int) (within / perWave());
        int i = (int) (within % perWave());
        return new Step(summaryRound[i] ? Kind.SUMMARY : Kind.HALO, wave, layerOfRound[i]);
    }

    /** Whether the round is its wave's first (a sequence starting in the wave gets its carry) or last. */
    boolean firstOfWave(int start, long r) {
        return r > 0 && at(start, r).kind() != Kind.COMMIT && (rest(start, r) % perWave()) == 0;
    }

    boolean lastOfWave(int start, long r) {
        return r > 0 && at(start, r).kind() != Kind.COMMIT && (rest(start, r) % perWave()) == perWave() - 1;
    }

    /** The rounds within the group of round r (r ≥ 1). */
    private long rest(int start, long r) {
        return (r - 1) % ((long) commitEvery * perWave() + 1);
    }

    /** Every round of an attempt that starts at wave {@code start}: the start round, the waves', the commits'. */
    long rounds(int start) {
        long n = 1;
        for (int g = groupOf(start); g < groups(); g++) {
            n += (long) (endWaveOf(g) - firstWaveOf(g)) * perWave() + 1;
        }
        return n;
    }

    private IllegalStateException beyond(int start, long r) {
        return new IllegalStateException("segment exchange: round " + r + " is beyond the " + rounds(start)
                + " rounds of a stage attempt that starts at wave " + start);
    }
}
