package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The driver's all-gather service on its own: rounds, task order, attempts kept apart, failures answered at once. */
class ExchangeHubTest {

  private static byte[] text(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void everyTaskGetsEveryMessageOfEachRoundInTaskOrder() throws Exception {
    try (ExchangeHub hub = new ExchangeHub("127.0.0.1", "127.0.0.1", 0, 3)) {
      ExecutorService pool = Executors.newFixedThreadPool(3);
      List<Future<List<String>>> results = new ArrayList<>();
      for (int task = 0; task < 3; task++) {
        int t = task;
        results.add(pool.submit(() -> {
          List<String> seen = new ArrayList<>();
          try (ExchangeClient c = new ExchangeClient(hub.address(), 0, t, () -> false)) {
            for (int round = 0; round < 4; round++) {
              for (byte[] m : c.allGather(text("t" + t + "r" + round))) {
                seen.add(text(m));
              }
            }
            c.finish();
          }
          return seen;
        }));
      }
      for (Future<List<String>> f : results) {
        List<String> seen = f.get();
        assertEquals(12, seen.size());
        for (int round = 0; round < 4; round++) {
          assertEquals(List.of("t0r" + round, "t1r" + round, "t2r" + round), seen.subList(3 * round, 3 * round + 3));
        }
      }
      pool.shutdown();
    }
  }

  @Test
  void stageAttemptsDoNotMix() throws Exception {
    try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 1)) {
      try (ExchangeClient first = new ExchangeClient(hub.address(), 0, 0, () -> false);
          ExchangeClient retry = new ExchangeClient(hub.address(), 1, 0, () -> false)) {
        assertArrayEquals(new byte[][] {text("a")}, first.allGather(text("a")));
        assertArrayEquals(new byte[][] {text("b")}, retry.allGather(text("b")));
      }
    }
  }

  @Test
  void aTaskLeavingBeforeItsLastRoundFailsTheOthersAtOnce() throws Exception {
    try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 2)) {
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        ExchangeClient waiting = new ExchangeClient(hub.address(), 0, 0, () -> false);
        ExchangeClient leaving = new ExchangeClient(hub.address(), 0, 1, () -> false);
        leaving.close(); // dies without its round
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> waiting.allGather(text("x")));
        assertTrue(e.getMessage().startsWith("segment exchange: lost the driver's exchange in round 0"),
            e.getMessage());
        waiting.close();
      });
    }
  }

  /**
   * A task that fails says why before it goes: the others lose their exchange at once, and the hub keeps the first
   * reason (the driver names it instead of their lost exchange); a reason given after the break-up is not kept.
   */
  @Test
  void aFailingTaskSaysWhyAndTheHubKeepsThatReason() throws Exception {
    try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 2)) {
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        assertEquals(null, hub.firstFailure());
        ExchangeClient waiting = new ExchangeClient(hub.address(), 0, 0, () -> false);
        ExchangeClient failing = new ExchangeClient(hub.address(), 0, 1, () -> false);
        failing.failed(new OutOfMemoryError("Java heap space"));
        failing.close();
        UncheckedIOException lost = assertThrows(UncheckedIOException.class, () -> waiting.allGather(text("x")));
        waiting.failed(lost);
        waiting.close();
        Throwable first = hub.firstFailure();
        assertTrue(first instanceof OutOfMemoryError, String.valueOf(first));
        assertEquals("Java heap space", first.getMessage());
      });
    }
  }

  @Test
  void aKilledTaskStopsWaiting() throws Exception {
    try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 2)) {
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        try (ExchangeClient alone = new ExchangeClient(hub.address(), 0, 0, () -> true)) {
          UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> alone.allGather(text("x")));
          assertEquals("the task was killed while waiting for the other segments", e.getCause().getMessage());
        }
      });
    }
  }

  @Test
  void aConnectionWithTheWrongTokenIsRefused() throws Exception {
    try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 1)) {
      ExchangeHub.Address a = hub.address();
      ExchangeHub.Address forged = new ExchangeHub.Address(a.host, a.port, a.token + 1, a.width);
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        try (ExchangeClient stranger = new ExchangeClient(forged, 0, 0, () -> false)) {
          assertThrows(UncheckedIOException.class, () -> stranger.allGather(text("x")));
        }
      });
    }
  }

  @Test
  void anUnreachableHubIsNamedWithTheSettingToChange() {
    ExchangeHub.Address nowhere = new ExchangeHub.Address("127.0.0.1", 1, 0, 1);
    UncheckedIOException e = assertThrows(UncheckedIOException.class,
        () -> new ExchangeClient(nowhere, 0, 0, () -> false));
    assertEquals("segment exchange: cannot reach the driver at 127.0.0.1:1 (set spark.ssm.exchange.port to a port"
        + " the executors may reach)", e.getMessage());
  }
}
