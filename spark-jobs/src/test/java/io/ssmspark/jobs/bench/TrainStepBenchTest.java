package io.ssmspark.jobs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.jobs.Main;
import io.ssmspark.model.config.MambaConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TrainStepBenchTest {

  private static String[] run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Main.run(args);
      return new String[] {Integer.toString(code), out.toString(StandardCharsets.UTF_8),
          err.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void thePatternBuildsTheLayersAndTheSizesFollowTheOptions() {
    TrainStepBench bench = new TrainStepBench();
    new CommandLine(bench).parseArgs("--d-model", "64", "--pattern", "MAMMA", "--heads", "4", "--headdim", "16",
        "--d-state", "8", "--chunk-size", "32", "--vocab", "100", "--d-intermediate", "96");
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
    String[] r = run("bench", "train-step", "--d-model", "32", "--pattern", "MA", "--heads", "2", "--headdim", "16",
        "--d-state", "8", "--d-intermediate", "32", "--vocab", "50", "--seq-len", "40", "--batch", "2",
        "--chunk-size", "16", "--steps", "3", "--warmup", "1");
    assertEquals("0", r[0], r[2]);
    List<String> lines = r[1].strip().lines().toList();
    assertEquals(1, lines.size(), r[1]);
    JsonNode j = new ObjectMapper().readTree(lines.get(0));
    TrainStepBench bench = new TrainStepBench();
    new CommandLine(bench).parseArgs("--d-model", "32", "--pattern", "MA", "--heads", "2", "--headdim", "16",
        "--d-state", "8", "--d-intermediate", "32", "--vocab", "50");
    assertEquals(io.ssmspark.model.checkpoint.CheckpointSchema.of(bench.config()).totalParameters(),
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
    String[] r = run("bench", "train-step", "--blas-threads", "-1", "--steps", "1");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("--blas-threads: expected >= 0 but found -1"), r[2]);
  }

  @Test
  void aBadPatternIsRefusedNamingTheLetter() {
    String[] r = run("bench", "train-step", "--pattern", "MMXA", "--steps", "1");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("--pattern: letter 2 is 'X'; expected M (Mamba2) or A (attention)"), r[2]);
  }
}
