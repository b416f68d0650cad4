package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.model.config.MambaConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The driver's reading of the exchange's round count: 5 segments (10, 10, 10, 10 and 5 tokens) on 2 tasks make 3
 * waves; the hybrid test model's layers (Mamba2, attention, Mamba2) take 2 + 1 + 2 = 5 rounds a wave; a commit round
 * follows every wave, and a start round opens every stage attempt.
 */
class ScoreProgressTest {
    private final MambaConfig config = ScoreTestModels.config(true, null);
    private final RoundSchedule schedule = new RoundSchedule(
            new SegmentWaves(2, 5),
            WaveTask.roundsPerLayer(
                    ModelBlob.of(config, ScoreTestModels.parameters(config, 1)).newModel()),
            1);
    private final ScoreProgress progress = new ScoreProgress(layout(), schedule, 3, 0, () -> null, line -> {});

    private static SegmentLayout layout() {
        List<SegmentMeta> metas = new ArrayList<>();
        for (Segment s : ScoreTestModels.cut("a", ScoreTestModels.tokens(1, 45, 13), 10, 20, 30, 40)) {
            metas.add(SegmentMeta.of(s));
        }
        return SegmentLayout.of(metas);
    }

    private String at(long rounds, int committed) {
        return progress.line(new ScoreProgress.Position(0, 0, rounds, Double.NaN, committed), 10);
    }

    @Test
    void theScheduleNamesEveryRound() {
        assertEquals(1 + 3 * (5 + 1), schedule.rounds(0));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.START, 0, -1), schedule.at(0, 0));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.HALO, 0, 0), schedule.at(0, 1));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.SUMMARY, 0, 0), schedule.at(0, 2));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.HALO, 0, 1), schedule.at(0, 3));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.SUMMARY, 0, 2), schedule.at(0, 5));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.COMMIT, 0, -1), schedule.at(0, 6));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.HALO, 1, 0), schedule.at(0, 7));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.COMMIT, 2, -1), schedule.at(0, 18));
        assertThrows(IllegalStateException.class, () -> schedule.at(0, 19));
        // an attempt that starts after two commits: its start round, then wave 2
        assertEquals(1 + 6, schedule.rounds(2));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.HALO, 2, 0), schedule.at(2, 1));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.COMMIT, 2, -1), schedule.at(2, 6));
        // commit groups of 2 waves: the last group is the short one
        RoundSchedule pairs = new RoundSchedule(new SegmentWaves(2, 5), new int[] {2, 1, 2}, 2);
        assertEquals(1 + (2 * 5 + 1) + (5 + 1), pairs.rounds(0));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.HALO, 1, 0), pairs.at(0, 6));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.COMMIT, 1, -1), pairs.at(0, 11));
        assertEquals(new RoundSchedule.Step(RoundSchedule.Kind.COMMIT, 2, -1), pairs.at(0, 17));
    }

    @Test
    void roundsGiveTheWaveTheLayerAndTheTokensThroughEveryLayer() {
        String tail = "  committed 0/3 waves";
        assertEquals(
                "0.0%  wave 1/3  layer 0/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA ?" + tail,
                at(0, 0));
        // the start round, then the first Mamba2 layer's conv rows: not yet its summaries
        assertEquals(
                "0.0%  wave 1/3  layer 0/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA ?" + tail,
                at(2, 0));
        assertEquals(
                "11.1%  wave 1/3  layer 1/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA 0:01:20"
                        + tail,
                at(3, 0));
        // wave 1 through every layer, its commit round still open: its 2 segments (20 tokens) are done
        assertEquals(
                "33.3%  wave 2/3  layer 0/3  segments 2/5  tokens 20/45  tokens/s 2  elapsed 0:00:10  ETA 0:00:20"
                        + tail,
                at(6, 0));
        assertEquals(
                "33.3%  wave 2/3  layer 0/3  segments 2/5  tokens 20/45  tokens/s 2  elapsed 0:00:10  ETA 0:00:20"
                        + "  committed 1/3 waves",
                at(7, 1));
        assertEquals(
                "100.0%  wave 3/3  layer 3/3  segments 5/5  tokens 45/45  tokens/s 5  elapsed 0:00:10  ETA 0:00:00"
                        + "  committed 3/3 waves",
                at(19, 3));
    }

    @Test
    void aResumedRunCountsItsOwnRateAndEta() {
        ScoreProgress resumed = new ScoreProgress(layout(), schedule, 3, 1, () -> null, line -> {});
        // resumed after wave 1 (20 tokens): 20 more tokens in 10 s, a third of the work in a third of what was left
        assertEquals(
                "66.7%  wave 3/3  layer 0/3  segments 4/5  tokens 40/45  tokens/s 2  elapsed 0:00:10  ETA 0:00:10"
                        + "  committed 2/3 waves",
                resumed.line(new ScoreProgress.Position(0, 1, 7, Double.NaN, 2), 10));
    }

    @Test
    void theExchangeWaitShareFollowsOnceARoundIsDone() {
        assertEquals(
                "33.3%  wave 2/3  layer 0/3  segments 2/5  tokens 20/45  tokens/s 2  elapsed 0:00:10  ETA 0:00:20"
                        + "  exchange wait 12%  committed 1/3 waves",
                progress.line(new ScoreProgress.Position(0, 0, 7, 0.123, 1), 10));
    }

    @Test
    void aRetriedStageSaysWhichAttempt() {
        assertEquals(
                "0.0%  wave 1/3  layer 0/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA ?"
                        + "  committed 0/3 waves  (stage attempt 2)",
                progress.line(new ScoreProgress.Position(1, 0, 0, Double.NaN, 0), 10));
    }
}
