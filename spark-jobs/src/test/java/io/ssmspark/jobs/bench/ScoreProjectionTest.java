package io.ssmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.bench.ScoreProjection.Design;
import io.ssmspark.jobs.bench.ScoreProjection.Run;
import io.ssmspark.jobs.bench.ScoreProjection.Setup;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The scoring cost model's arithmetic on hand-made constants: no Spark, nothing timed. */
class ScoreProjectionTest {
    private static final double NETWORK = 1.25e9;
    /** A Mamba-2 layer of the bench score model: 3 conv rows of 640 floats, α of 16 and E of 16·32·64 floats. */
    private static final ScoreShape.Layer MAMBA = new ScoreShape.Layer(true, 3, 1, 2560, 2, 131_136, 131_072);

    /** 10 µs per token per Mamba layer, 1 µs per token for the head; a hub of 200 µs, 5 µs a message, 2 GB/s. */
    private static ScoreCosts costs() {
        return new ScoreCosts(16_384, 1, 1e-5, 0, 0, 0, 1e-6, 1000, 1e-4, 2e-4, 5e-6, 2e9, 6e-4, 131_158);
    }

    private static ScoreProjection mamba(int layers) {
        return new ScoreProjection(
                costs(),
                new ScoreShape(1_000_000, 256, layers, 0, 0, 256, java.util.Collections.nCopies(layers, MAMBA)));
    }

    private static Run run(int executors, double tokens, Design design) {
        return mamba(4).run(new Setup(executors, tokens, 16_384, NETWORK, 0), design);
    }

    @Test
    void allGatherDriverBytesGrowAsTheSquareOfTheWaveAndPrefixBytesLinearly() {
        Run a10 = run(10, 3e9, Design.ALL_GATHER);
        Run a100 = run(100, 3e9, Design.ALL_GATHER);
        Run p10 = run(10, 3e9, Design.PREFIX);
        Run p100 = run(100, 3e9, Design.PREFIX);
        // sent: W answers of W framed messages (plus a 4-byte count each)
        assertEquals(100, a100.driverBytesSent() / a10.driverBytesSent(), 0.01);
        assertEquals(10, a100.driverBytesReceived() / a10.driverBytesReceived(), 1e-9);
        assertEquals(10, p100.driverBytesSent() / p10.driverBytesSent(), 1e-9);
        assertEquals(10, p100.driverBytesReceived() / p10.driverBytesReceived(), 1e-9);
        assertEquals(4 * (100 + 100 * 100) * 2, a100.messagesPerWave());
        assertEquals(4 * 2 * 100 * 2, p100.messagesPerWave());
    }

    @Test
    void aRoundsBytesFollowTheWireLayout() {
        long summary = ExchangeWire.message(2, MAMBA.summaryBytes());
        assertEquals(4 + 2 + 2 * 8 + 131_136, summary);
        ScoreProjection.Round r = ScoreProjection.allGather(3, summary);
        assertEquals(3 * (8 + summary), r.received());
        assertEquals(3 * (4 + 3 * (4 + summary)), r.sent());
        ScoreProjection.Round p = ScoreProjection.forward(3, summary, ExchangeWire.message(1, MAMBA.stateBytes()));
        assertEquals(3 * (4 + 4 + (4 + 2 + 8 + 131_072)), p.sent());
    }

    /**
     * 10^6 tokens in segments of 16384 (62 segments): 61 · (3·2560 + 131136 + 131072) + 61 · 3·2560, whatever the
     * executors, as ExchangeStats counts them (SequenceParallelScorerTest checks the scorer's count against this).
     */
    @Test
    void thePrefixFoldsValueBytesDoNotGrowWithExecutors() {
        long[] bytes = mamba(4).exchangedValueBytesPerLayer(new Setup(4, 1e6, 16_384, 0, 2));
        assertEquals(61L * (7680 + 131_136 + 131_072) + 61L * 7680, bytes[0]);
        assertEquals(bytes[3], mamba(4).exchangedValueBytesPerLayer(new Setup(100, 1e6, 16_384, 0, 2))[3]);
    }

    @Test
    void computeScalesWithTokensAndNotWithExecutors() {
        Run small = run(10, 1e8, Design.ALL_GATHER);
        Run large = run(10, 1e9, Design.ALL_GATHER);
        // per wave: L tokens · (4 layers · 10 µs + 1 µs)
        assertEquals(16_384 * 41e-6, small.computeSeconds(), 1e-9);
        assertEquals(small.computeSeconds(), run(1000, 1e9, Design.ALL_GATHER).computeSeconds(), 1e-12);
        assertEquals(10, large.waves() * large.computeSeconds() / (small.waves() * small.computeSeconds()), 0.01);
        assertEquals(Math.ceil(Math.ceil(1e9 / 16_384) / 10), large.waves());
    }

    @Test
    void theAllGatherShareGrowsWithExecutorsAndThePrefixDesignHalvesItLater() {
        ScoreProjection p = mamba(4);
        Setup s = new Setup(100, 3e9, 16_384, NETWORK, 0);
        assertTrue(run(1000, 3e9, Design.ALL_GATHER).exchangeShare()
                > run(100, 3e9, Design.ALL_GATHER).exchangeShare());
        assertTrue(run(1000, 3e9, Design.PREFIX).wallSeconds()
                < run(1000, 3e9, Design.ALL_GATHER).wallSeconds());
        assertTrue(p.exchangeHalfAt(s, Design.PREFIX) > p.exchangeHalfAt(s, Design.ALL_GATHER));
        // all-gather: every task folds all W summaries of every layer into its carry
        assertEquals(4 * 100 * 1e-4, run(100, 3e9, Design.ALL_GATHER).carrySeconds(), 1e-12);
        assertEquals(0, run(100, 3e9, Design.PREFIX).carrySeconds());
    }

    @Test
    void localModeSharesTheCoresAmongTheTasks() {
        ScoreProjection p = mamba(4);
        double alone = p.run(new Setup(4, 1e6, 16_384, 0, 0), Design.ALL_GATHER).computeSeconds();
        double shared =
                p.run(new Setup(4, 1e6, 16_384, 0, 2), Design.ALL_GATHER).computeSeconds();
        assertEquals(2 * alone, shared, 1e-12);
        assertEquals(
                alone, p.run(new Setup(2, 1e6, 16_384, 0, 2), Design.ALL_GATHER).computeSeconds(), 1e-12);
    }

    @Test
    void runsAreParsedAndBadOnesRefused() {
        Setup s = ScoreProjectionOptions.setup("100,3e9", 16_384, NETWORK, 0);
        assertEquals(List.of(100, 3e9, 16_384), List.of(s.executors(), s.tokens(), s.segment()));
        assertEquals(
                8192,
                ScoreProjectionOptions.setup("1000,3e9,8192", 16_384, NETWORK, 0)
                        .segment());
        Setup local = ScoreProjectionOptions.setup("local[4],1e6", 16_384, NETWORK, 2);
        assertEquals(List.of(4, 2, 0.0), List.of(local.executors(), local.localCores(), local.networkBytesPerSecond()));
        assertEquals(0, s.localCores());
        assertThrows(IllegalArgumentException.class, () -> ScoreProjectionOptions.setup("100", 16_384, NETWORK, 0));
        assertThrows(IllegalArgumentException.class, () -> ScoreProjectionOptions.setup("0,3e9", 16_384, NETWORK, 0));
    }
}
