package io.ssmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainBenchTest {
    @TempDir
    Path dir;

    /** The summary takes medians over the timed steps only (step 1 is the warm-up) and splits overhead. */
    @Test
    void summaryUsesTheTimedStepsOfTheTrainersMetrics() throws Exception {
        Path metrics = dir.resolve("metrics.jsonl");
        Files.write(
                metrics,
                List.of(
                        record(1, 9000, 1000, 500, 900, 800),
                        record(2, 2000, 1500, 10, 100, 20),
                        record(3, 4000, 3000, 30, 300, 40),
                        record(4, 3000, 2400, 20, 200, 30),
                        "{\"type\":\"validation\",\"step\":4,\"loss\":4.0}"));
        TrainBench bench = new TrainBench();
        MambaConfig model = new TrainStepBench().config();
        Map<String, Object> f = bench.summarize(metrics, 2, 2, model).fields();
        assertEquals(3, f.get("timed_steps"));
        assertEquals(3.0, (double) f.get("step_s"), 1e-12);
        assertEquals(2.4, (double) f.get("compute_s"), 1e-12);
        assertEquals(0.6, (double) f.get("overhead_s"), 1e-3);
        assertEquals(0.2, (double) f.get("overhead_fraction"), 1e-3);
        assertEquals(0.02, (double) f.get("broadcast_s"), 1e-12);
        assertEquals(0.2, (double) f.get("aggregate_s"), 1e-12);
        assertEquals(8.0 * 1024 / 3.0, (double) f.get("tokens_per_s"), 1.0);
        assertEquals(CheckpointSchema.of(model).totalParameters(), f.get("params"));
        assertEquals(2, f.get("partitions"));
    }

    /** 4 tasks on 2 slots run in two waves: the critical path is their total compute over the slots. */
    @Test
    void moreTasksThanSlotsCountTheirComputeSpreadOverTheSlots() throws Exception {
        Path metrics = dir.resolve("metrics.jsonl");
        Files.write(
                metrics,
                List.of(
                        record(1, 9000, 1000, 500, 900, 800),
                        record(2, 2300, 1100, 10, 100, 20, 1000),
                        record(3, 2300, 1100, 10, 100, 20, 1000)));
        Map<String, Object> f = new TrainBench()
                .summarize(metrics, 4, 2, new TrainStepBench().config())
                .fields();
        assertEquals(2.0, (double) f.get("compute_s"), 1e-12);
        assertEquals(1.1, (double) f.get("task_compute_max_s"), 1e-12);
        assertEquals(0.3, (double) f.get("overhead_s"), 1e-9);
        assertEquals(2, f.get("task_slots"));
    }

    @Test
    void oneStepIsRefused() {
        TrainBench bench = new TrainBench();
        bench.steps = 1;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bench::call);
        assertTrue(e.getMessage().startsWith("--steps: expected at least 2"), e.getMessage());
    }

    private static String record(
            int step, double stepMs, double computeMs, double broadcastMs, double aggregateMs, double optimizerMs) {
        return record(step, stepMs, computeMs, broadcastMs, aggregateMs, optimizerMs, computeMs * 0.9);
    }

    private static String record(
            int step,
            double stepMs,
            double computeMs,
            double broadcastMs,
            double aggregateMs,
            double optimizerMs,
            double meanComputeMs) {
        return "{\"type\":\"train\",\"step\":" + step + ",\"step_ms\":" + stepMs + ",\"task_compute_max_ms\":"
                + computeMs + ",\"task_compute_mean_ms\":" + meanComputeMs + ",\"broadcast_ms\":" + broadcastMs
                + ",\"aggregate_ms\":" + aggregateMs
                + ",\"optimizer_ms\":" + optimizerMs + ",\"broadcast_bytes\":100,\"result_bytes\":400}";
    }
}
