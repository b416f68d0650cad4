package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.exchange.ExchangeHub;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.model.config.MambaConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The driver's reading of the exchange's round count: 5 segments (10, 10, 10, 10 and 5 tokens) on 2 tasks make 3
 * waves; the hybrid test model's layers (Mamba2, attention, Mamba2) take 2 + 1 + 2 = 5 rounds a wave.
 */
class ScoreProgressTest {
    private final MambaConfig config = ScoreTestModels.config(true, null);
    private final SegmentWaves waves = new SegmentWaves(2, 5);
    private final ScoreProgress progress = new ScoreProgress(
            layout(),
            waves,
            WaveTask.roundsPerLayer(
                    ModelBlob.of(config, ScoreTestModels.parameters(config, 1)).newModel()),
            () -> null,
            line -> {});

    private static SegmentLayout layout() {
        List<SegmentMeta> metas = new ArrayList<>();
        for (Segment s : ScoreTestModels.cut("a", ScoreTestModels.tokens(1, 45, 13), 10, 20, 30, 40)) {
            metas.add(SegmentMeta.of(s));
        }
        return SegmentLayout.of(metas);
    }

    private String at(long rounds) {
        return progress.line(new ExchangeHub.Rounds(0, rounds), 10);
    }

    @Test
    void roundsGiveTheWaveTheLayerAndTheTokensThroughEveryLayer() {
        assertEquals(15, progress.totalRounds());
        assertEquals("0.0%  wave 1/3  layer 0/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA ?", at(0));
        // one round into wave 1: the first Mamba2 layer has shared its conv rows, not yet its summaries
        assertEquals("0.0%  wave 1/3  layer 0/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA ?", at(1));
        assertEquals(
                "11.1%  wave 1/3  layer 1/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA 0:01:20",
                at(2));
        assertEquals(
                "22.2%  wave 1/3  layer 2/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA 0:00:35",
                at(3));
        // wave 1 done: its 2 segments (20 tokens) have been through every layer
        assertEquals(
                "33.3%  wave 2/3  layer 0/3  segments 2/5  tokens 20/45  tokens/s 2  elapsed 0:00:10  ETA 0:00:20",
                at(5));
        assertEquals(
                "77.8%  wave 3/3  layer 1/3  segments 4/5  tokens 40/45  tokens/s 4  elapsed 0:00:10  ETA 0:00:03",
                at(12));
        assertEquals(
                "100.0%  wave 3/3  layer 3/3  segments 5/5  tokens 45/45  tokens/s 5  elapsed 0:00:10  ETA 0:00:00",
                at(15));
    }

    @Test
    void theExchangeWaitShareFollowsOnceARoundIsDone() {
        assertEquals(
                "33.3%  wave 2/3  layer 0/3  segments 2/5  tokens 20/45  tokens/s 2  elapsed 0:00:10  ETA 0:00:20"
                        + "  exchange wait 12%",
                progress.line(new ExchangeHub.Rounds(0, 5, 0.123), 10));
    }

    @Test
    void aRetriedStageSaysWhichAttempt() {
        assertEquals(
                "0.0%  wave 1/3  layer 0/3  segments 0/5  tokens 0/45  tokens/s 0  elapsed 0:00:10  ETA ?"
                        + "  (stage attempt 2)",
                progress.line(new ExchangeHub.Rounds(1, 0), 10));
    }
}
