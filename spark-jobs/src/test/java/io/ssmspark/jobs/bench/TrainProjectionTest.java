package io.ssmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.bench.TrainProjection.Path;
import io.ssmspark.jobs.bench.TrainProjection.Setup;
import io.ssmspark.jobs.bench.TrainProjection.Step;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The cost model's arithmetic on hand-made constants: no Spark, nothing timed. */
class TrainProjectionTest {
    private static final double NETWORK = 1e9;
    private static final double SHUFFLE = 4e8;
    private static final double RESULTS = 5e8;

    /** Only the Mamba projections cost compute: 1 µs per token per layer at width 256. */
    private static MeasuredCosts costs() {
        return new MeasuredCosts(
                256, 512, 256, 2048, 1e-6, 0, 0, 0, 0, 0, 1000, SHUFFLE, RESULTS, 1e-9, 3e-8, 2e-8, 1e-8, 0.05, 0.003,
                100);
    }

    private static ModelShape model(long parameters, int dModel, int layers) {
        return new ModelShape("m", parameters, dModel, layers, 0, 0, 0, 256);
    }

    private static TrainProjection projection(int shards) {
        return new TrainProjection(costs(), new Setup(2048, NETWORK, shards, 1L << 40, 1L << 40));
    }

    @Test
    void theDriverReceivesTwelveBytesPerParameterFromEveryExecutor() {
        for (int p : new int[] {1, 8, 256}) {
            Step s = projection(0).step(model(1_000_000, 256, 8), p, Path.DRIVER_FOLD);
            assertEquals(12.0 * 1_000_000 * p, s.driverBytesReceived());
            assertEquals(12.0 * 1_000_000 * p, s.busiestLinkBytes(), 1e-6);
            assertEquals(p * 1_000_000 * 2e-8, s.foldSeconds(), 1e-12);
            assertEquals(1_000_000 * 1e-8, s.optimizerSeconds(), 1e-12);
            double broadcast = 4e6 * (1e-9 + 1 / NETWORK + 1 / SHUFFLE);
            double collect = 12e6 * p * (1 / NETWORK + 1 / RESULTS);
            assertEquals(broadcast + collect, s.communicationSeconds(), 1e-9);
        }
    }

    @Test
    void theShardedDriverBytesDoNotDependOnTheParameterCount() {
        Step small = projection(0).step(model(1_000, 256, 8), 64, Path.SHARDED);
        Step large = projection(0).step(model(1_000_000_000, 2048, 48), 64, Path.SHARDED);
        assertEquals(small.driverBytesReceived(), large.driverBytesReceived());
        assertEquals(2.0 * 64 * 64, small.mapStatusBlocks());
        assertTrue(small.driverBytesReceived() < 1e6);
    }

    /** With K = P each executor sends and receives 4N of parameters and 12N of gradient, whatever P. */
    @Test
    void oneShardPerExecutorMovesSixteenBytesPerParameterThroughEachLink() {
        double n = 1e8;
        for (int p : new int[] {8, 64, 256}) {
            Step s = projection(0).step(model((long) n, 768, 24), p, Path.SHARDED);
            assertEquals(p, s.shards());
            assertEquals(16 * n, s.busiestLinkBytes(), 1e-3);
            assertEquals(16 * n * (1 / NETWORK + 1 / SHUFFLE), s.communicationSeconds(), 1e-9);
            assertEquals(n * 2e-8, s.foldSeconds(), 1e-9);
            assertEquals(n / p * 1e-8, s.optimizerSeconds(), 1e-12);
            assertEquals(2 * 0.05 + 3.0 * p * 0.003, s.schedulingSeconds(), 1e-12);
        }
    }

    /** Fewer shards than executors: each reducer takes 12N·P/K in and serves 4N·P/K out. */
    @Test
    void fewerShardsLoadTheReducersLinks() {
        double n = 1e6;
        Step s = projection(4).step(model((long) n, 256, 8), 8, Path.SHARDED);
        assertEquals(4, s.shards());
        assertEquals(Math.max(4 * n + 12 * n * 2, 12 * n + 4 * n * 2), s.busiestLinkBytes(), 1e-6);
        assertEquals(
                8, projection(64).step(model((long) n, 256, 8), 8, Path.SHARDED).shards());
    }

    /** The projection part scales with d²: twice the width costs four times the compute per layer. */
    @Test
    void computeScalesWithTheSquareOfTheWidthAndWithTheLayers() {
        TrainProjection projection = projection(0);
        double base = projection.computeSeconds(model(1, 256, 8));
        assertEquals(8 * 2048 * 1e-6, base, 1e-12);
        assertEquals(4 * base, projection.computeSeconds(model(1, 512, 8)), 1e-12);
        assertEquals(2 * base, projection.computeSeconds(model(1, 256, 16)), 1e-12);
    }

    @Test
    void theStepIsTheSumOfItsPartsAndTheShareIsCommunicationsPart() {
        Step s = projection(0).step(model(10_000_000, 512, 12), 16, Path.DRIVER_FOLD);
        assertEquals(10_000_000 * 3e-8, s.taskGradientSeconds(), 1e-12);
        double sum = s.computeSeconds()
                + s.taskGradientSeconds()
                + s.communicationSeconds()
                + s.foldSeconds()
                + s.optimizerSeconds()
                + s.schedulingSeconds();
        assertEquals(sum, s.stepSeconds(), 1e-12);
        assertEquals(s.communicationSeconds() / sum, s.communicationShare(), 1e-12);
    }

    /** The driver path holds every task's result at once; the sharded one adds a reducer's shard to each task. */
    @Test
    void memoryGrowsWithTheExecutorsOnTheDriverOnlyOnTheDriverPath() {
        long n = 1_000_000;
        TrainProjection projection =
                new TrainProjection(costs(), new Setup(2048, NETWORK, 0, 100_000_000L, 100_000_000L));
        Step few = projection.step(model(n, 256, 8), 2, Path.DRIVER_FOLD);
        Step many = projection.step(model(n, 256, 8), 16, Path.DRIVER_FOLD);
        assertEquals(12.0 * n * 14, many.driverBytes() - few.driverBytes(), 1e-6);
        assertTrue((boolean) few.toJson(projection.setup()).fields().get("fits_driver"));
        assertFalse((boolean) many.toJson(projection.setup()).fields().get("fits_driver"));
        Step sharded = projection.step(model(n, 256, 8), 4, Path.SHARDED);
        assertEquals(few.executorBytes() + 72 * (n / 4), sharded.executorBytes(), 1e-6);
    }

    @Test
    void everyModelAndPathMakesOneTableRow() {
        TrainProjection projection = projection(0);
        List<Step> steps = List.of(
                projection.step(model(1000, 256, 8), 8, Path.DRIVER_FOLD),
                projection.step(model(1000, 256, 8), 8, Path.SHARDED));
        String table = ProjectionOptions.table(steps, projection.setup());
        assertEquals(4, table.lines().count());
        assertTrue(table.contains("sharded K=8"), table);
        assertThrows(IllegalArgumentException.class, () -> projection.step(model(1000, 256, 8), 0, Path.SHARDED));
    }
}
