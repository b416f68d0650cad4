package io.ssmspark.jobs.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The subcommand is registered under bench, documents its options, and refuses bad ones before Spark starts. */
class Dl4jBaselineCliTest {

  private static String[] run(String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      int code = Main.run(args);
      return new String[] {Integer.toString(code), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  @Test
  void helpListsTheOptions() {
    String[] r = run("bench", "dl4j-baseline", "--help");
    assertEquals("0", r[0]);
    for (String option : new String[] {"--data", "--input-format", "--seq-len", "--batch", "--hidden", "--layers",
        "--lr", "--seed", "--partitions", "--master", "--seconds", "--steps", "--averaging-frequency"}) {
      assertTrue(r[1].contains(option), option + " missing from:\n" + r[1]);
    }
  }

  @Test
  void badOptionsGetOneClearErrorAndExitCode2() {
    String[] r = run("bench", "dl4j-baseline", "--batch", "0");
    assertEquals("2", r[0]);
    assertEquals("ssm-spark dl4j-baseline: --batch: expected at least 1 but found 0", r[2].strip());
    r = run("bench", "dl4j-baseline", "--approach", "stream");
    assertEquals("2", r[0]);
    assertEquals("ssm-spark dl4j-baseline: --approach: expected direct or export but found 'stream'", r[2].strip());
  }
}
