package io.ssmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.jobs.cli.CliRun;
import io.ssmspark.model.config.MambaConfig;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TrainStepBenchTest {

    @Test
    void thePatternBuildsTheLayersAndTheSizesFollowTheOptions() {
        TrainStepBench bench = new TrainStepBench();
        new CommandLine(bench)
                .parseArgs(
                        "--d-model",
                        "64",
                        "--pattern",
                        "MAMMA",
                        "--heads",
                        "4",
                        "--headdim",
                        "16",
                        "--d-state",
                        "8",
                        "--chunk-size",
                        "32",
                        "--vocab",
                        "100",
                        "--d-intermediate",
                        "96");
        MambaConfig c = bench.config();
        assertEquals(5, c.nLayer());
        assertEquals(List.of(1, 4), c.attnLayerIdx());
        assertEquals(4, c.attnNumHeads());
        assertEquals(16, c.attnHeadDim());
        assertEquals(8, c.nHeads()); // d_inner 128 / headdim 16
        assertEquals(32, c.ssm().chunkSize());
        assertEquals(128, c.mlpHidden()); // 96 rounded up to a multiple of 128
    }

    @Test
    void printsOneJsonLineWithTheStepRateAndTheBreakdown() throws Exception {
        CliRun r = CliRun.of(
                "bench",
                "train-step",
                "--d-model",
                "32",
                "--pattern",
                "MA",
                "--heads",
                "2",
                "--headdim",
                "16",
                "--d-state",
                "8",
                "--d-intermediate",
                "32",
                "--vocab",
                "50",
                "--seq-len",
                "40",
                "--batch",
                "2",
                "--chunk-size",
                "16",
                "--steps",
                "3",
                "--warmup",
                "1");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().strip().lines().toList();
        assertEquals(1, lines.size(), r.out());
        JsonNode j = new ObjectMapper().readTree(lines.get(0));
        TrainStepBench bench = new TrainStepBench();
        new CommandLine(bench)
                .parseArgs(
                        "--d-model",
                        "32",
                        "--pattern",
                        "MA",
                        "--heads",
                        "2",
                        "--headdim",
                        "16",
                        "--d-state",
                        "8",
                        "--d-intermediate",
                        "32",
                        "--vocab",
                        "50");
        assertEquals(
                io.ssmspark.model.checkpoint.CheckpointSchema.of(bench.config()).totalParameters(),
                j.get("params").asLong());
        assertEquals(40, j.get("seq_len").asInt());
        assertEquals(2, j.get("batch").asInt());
        double step = j.get("step_s_median").asDouble();
        assertEquals(80 / step, j.get("tokens_per_s").asDouble(), 80 / step * 1e-3);
        for (String part : new String[] {"embedding_head", "norms", "mamba_mixer", "ssd", "attention", "mlp"}) {
            assertTrue(j.get("fwd_" + part + "_s").asDouble() > 0, part);
            assertTrue(j.get("bwd_" + part + "_s").asDouble() > 0, part);
        }
        assertTrue(j.get("optimizer_s").asDouble() > 0);
        assertTrue(j.get("gemm_gflops").asDouble() > 0);
        assertTrue(j.get("blas_threads").asInt() >= 1, "the gemm threads in use are reported");
    }

    @Test
    void negativeBlasThreadsAreRefused() {
        CliRun r = CliRun.of("bench", "train-step", "--blas-threads", "-1", "--steps", "1");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--blas-threads: expected >= 0 but found -1"), r.err());
    }

    @Test
    void aBadPatternIsRefusedNamingTheLetter() {
        CliRun r = CliRun.of("bench", "train-step", "--pattern", "MMXA", "--steps", "1");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--pattern: letter 2 is 'X'; expected M (Mamba2) or A (attention)"), r.err());
    }
}
