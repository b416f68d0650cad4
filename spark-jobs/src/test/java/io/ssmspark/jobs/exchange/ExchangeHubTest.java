package io.ssmspark.jobs.exchange;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.score.LogCapture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The driver's exchange service on its own (all-gathers and folds): rounds, task order, attempts kept apart, failures answered at once. */
class ExchangeHubTest {

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Six tasks in groups of three: each round answers a task with its own group's messages, in task order. */
    @Test
    void aGroupedStageAnswersEachTaskWithItsGroupsMessages() throws Exception {
        try (ExchangeHub hub = new ExchangeHub("127.0.0.1", "127.0.0.1", 0, 6, 3, ExchangeHub.HELLO_TIMEOUT_MILLIS)) {
            ExecutorService pool = Executors.newFixedThreadPool(6);
            List<Future<List<String>>> results = new ArrayList<>();
            for (int task = 0; task < 6; task++) {
                int t = task;
                results.add(pool.submit(() -> {
                    List<String> seen = new ArrayList<>();
                    try (ExchangeClient c = new ExchangeClient(hub.address(), 0, t, () -> false)) {
                        for (int round = 0; round < 2; round++) {
                            for (byte[] m : c.round(text("t" + t + "r" + round))) {
                                seen.add(text(m));
                            }
                        }
                        c.finish();
                    }
                    return seen;
                }));
            }
            for (int task = 0; task < 6; task++) {
                int g = task / 3 * 3;
                assertEquals(
                        List.of(
                                "t" + g + "r0",
                                "t" + (g + 1) + "r0",
                                "t" + (g + 2) + "r0",
                                "t" + g + "r1",
                                "t" + (g + 1) + "r1",
                                "t" + (g + 2) + "r1"),
                        results.get(task).get());
            }
            pool.shutdown();
        }
        assertThrows(IllegalArgumentException.class, () -> new ExchangeHub("127.0.0.1", null, 0, 6, 4, 1000));
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
                            for (byte[] m : c.round(text("t" + t + "r" + round))) {
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
                    assertEquals(
                            List.of("t0r" + round, "t1r" + round, "t2r" + round),
                            seen.subList(3 * round, 3 * round + 3));
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
                assertArrayEquals(new byte[][] {text("a")}, first.round(text("a")));
                assertArrayEquals(new byte[][] {text("b")}, retry.round(text("b")));
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
                UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> waiting.round(text("x")));
                assertTrue(
                        e.getMessage().startsWith("segment exchange: lost the driver's exchange in round 0"),
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
                UncheckedIOException lost = assertThrows(UncheckedIOException.class, () -> waiting.round(text("x")));
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
                    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> alone.round(text("x")));
                    assertEquals(
                            "the task was killed while waiting for the other segments",
                            e.getCause().getMessage());
                }
            });
        }
    }

    @Test
    void aConnectionWithTheWrongTokenIsRefused() throws Exception {
        try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 1)) {
            ExchangeHub.Address a = hub.address();
            ExchangeHub.Address forged = new ExchangeHub.Address(a.host, a.port, a.token + 1, a.width, a.groupSize);
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                try (ExchangeClient stranger = new ExchangeClient(forged, 0, 0, () -> false)) {
                    assertThrows(UncheckedIOException.class, () -> stranger.round(text("x")));
                }
            });
        }
    }

    @Test
    void anUnreachableHubIsNamedWithTheSettingToChange() {
        ExchangeHub.Address nowhere = new ExchangeHub.Address("127.0.0.1", 1, 0, 1, 1);
        UncheckedIOException e =
                assertThrows(UncheckedIOException.class, () -> new ExchangeClient(nowhere, 0, 0, () -> false));
        assertEquals(
                "segment exchange: cannot reach the driver at 127.0.0.1:1 (set spark.ssm.exchange.port to a port"
                        + " the executors may reach)",
                e.getMessage());
    }

    @Test
    void aPortInUseIsNamedWithTheSettingAndTheCause() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            IOException e = assertThrows(IOException.class, () -> new ExchangeHub("127.0.0.1", "127.0.0.1", port, 1));
            assertEquals(
                    "segment exchange: cannot listen on port " + port + " (spark.ssm.exchange.port) of 127.0.0.1:"
                            + " Address already in use; set spark.ssm.exchange.port to a free port, or 0 for any",
                    e.getMessage());
        }
    }

    /**
     * A port scanner connecting and closing, or sending a few bytes or a wrong token, is no task that failed: one debug
     * line each, nothing at INFO or above, and the stage's tasks carry on.
     */
    @Test
    void junkConnectionsAreDroppedWithADebugLineAndBreakNothing() throws Exception {
        try (LogCapture log = new LogCapture(ExchangeHub.class);
                ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 1)) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                for (byte[] junk : new byte[][] {{}, {1, 2, 3}, text("GET / HTTP/1.0\r\n\r\n")}) {
                    try (Socket s = new Socket("127.0.0.1", hub.address().port)) {
                        s.getOutputStream().write(junk);
                    }
                }
                while (log.events().size() < 3) {
                    Thread.sleep(10);
                }
                try (ExchangeClient task = new ExchangeClient(hub.address(), 0, 0, () -> false)) {
                    assertArrayEquals(new byte[][] {text("a")}, task.round(text("a")));
                    task.finish();
                }
            });
            List<String> events = log.events();
            assertEquals(3, events.size(), events.toString());
            List<String> why = List.of("closed before its hello", "closed before its hello", "a wrong token");
            for (String event : events) {
                assertTrue(
                        event.matches("DEBUG exchange hub: dropped a connection from /127\\.0\\.0\\.1:\\d+ that never"
                                + " identified itself \\((closed before its hello|a wrong token)\\)"),
                        event);
            }
            assertEquals(
                    why.stream().sorted().toList(),
                    events.stream()
                            .map(e -> e.substring(e.lastIndexOf('(') + 1, e.length() - 1))
                            .sorted()
                            .toList());
        }
    }

    /** A connection that never says a word is closed after the hello timeout, and its thread ends. */
    @Test
    void anIdleConnectionIsClosedAndItsThreadFreed() throws Exception {
        try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 1, 1, 2_000);
                Socket idle = new Socket("127.0.0.1", hub.address().port)) {
            String thread = "ssm-exchange-" + idle.getLocalSocketAddress();
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                while (!threadAlive(thread)) {
                    Thread.sleep(10);
                }
                idle.setSoTimeout(20_000);
                assertEquals(-1, idle.getInputStream().read()); // the hub closed it
                while (threadAlive(thread)) {
                    Thread.sleep(10);
                }
            });
        }
    }

    /** Joined tasks may take longer than the hello timeout to send a round: the hub waits for them. */
    @Test
    void aTaskComputingLongerThanTheHelloTimeoutIsNotCut() throws Exception {
        try (ExchangeHub hub = new ExchangeHub("127.0.0.1", null, 0, 2, 2, 200)) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<String>> results = new ArrayList<>();
            for (int task = 0; task < 2; task++) {
                int t = task;
                results.add(pool.submit(() -> {
                    StringBuilder seen = new StringBuilder();
                    try (ExchangeClient c = new ExchangeClient(hub.address(), 0, t, () -> false)) {
                        for (int round = 0; round < 2; round++) {
                            Thread.sleep(t == 1 ? 1_000 : 0); // five hello timeouts before each round
                            for (byte[] m : c.round(text("t" + t + "r" + round))) {
                                seen.append(text(m)).append(' ');
                            }
                        }
                        c.finish();
                    }
                    return seen.toString();
                }));
            }
            for (Future<String> f : results) {
                assertEquals("t0r0 t1r0 t0r1 t1r1 ", f.get(30, TimeUnit.SECONDS));
            }
            pool.shutdown();
        }
    }

    /** A hub whose groups fold: each task gets one answer per round, the prefix of the messages before it. */
    private static ExchangeHub prefixHub(int width, java.util.function.Supplier<RoundFold> folds) throws IOException {
        return new ExchangeHub(
                "127.0.0.1",
                "127.0.0.1",
                0,
                width,
                width,
                ExchangeHub.HELLO_TIMEOUT_MILLIS,
                ExchangeSecurity.NONE,
                folds);
    }

    /** The exclusive prefix of the round's messages, joined, for every task; a fold keeps its rounds in order. */
    private static RoundFold exclusivePrefixes(List<Integer> roundsSeen) {
        return (round, messages) -> {
            roundsSeen.add(round);
            byte[][] answers = new byte[messages.length][];
            StringBuilder before = new StringBuilder();
            for (int t = 0; t < messages.length; t++) {
                answers[t] = text(before.toString());
                before.append(text(messages[t]));
            }
            return answers;
        };
    }

    @Test
    void aFoldingHubAnswersEachTaskWithItsOwnMessage() throws Exception {
        List<Integer> rounds = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ExchangeHub hub = prefixHub(3, () -> exclusivePrefixes(rounds))) {
            ExecutorService pool = Executors.newFixedThreadPool(3);
            List<Future<List<String>>> results = new ArrayList<>();
            for (int task = 0; task < 3; task++) {
                int t = task;
                results.add(pool.submit(() -> {
                    List<String> seen = new ArrayList<>();
                    try (ExchangeClient c = new ExchangeClient(hub.address(), 0, t, () -> false)) {
                        for (int round = 0; round < 2; round++) {
                            byte[][] answer = c.round(text("t" + t + "r" + round + ";"));
                            assertEquals(1, answer.length);
                            seen.add(text(answer[0]));
                        }
                        c.finish();
                    }
                    return seen;
                }));
            }
            assertEquals(List.of("", ""), results.get(0).get(30, TimeUnit.SECONDS));
            assertEquals(List.of("t0r0;", "t0r1;"), results.get(1).get(30, TimeUnit.SECONDS));
            assertEquals(List.of("t0r0;t1r0;", "t0r1;t1r1;"), results.get(2).get(30, TimeUnit.SECONDS));
            assertEquals(List.of(0, 1), rounds);
            assertEquals(2, hub.rounds().completed());
            pool.shutdown();
        }
    }

    /** A fold that throws breaks its attempt: every task fails at once, and the driver names the fold's exception. */
    @Test
    void aFoldThatFailsFailsEveryTaskAndIsNamed() throws Exception {
        try (ExchangeHub hub = prefixHub(2, () -> (round, messages) -> {
            throw new IllegalStateException("segment exchange: task 1 sent a message of segment 7");
        })) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<Throwable>> results = new ArrayList<>();
            for (int task = 0; task < 2; task++) {
                int t = task;
                results.add(pool.submit(() -> {
                    try (ExchangeClient c = new ExchangeClient(hub.address(), 0, t, () -> false)) {
                        return assertThrows(UncheckedIOException.class, () -> c.round(text("x")));
                    }
                }));
            }
            for (Future<Throwable> f : results) {
                assertTrue(f.get(30, TimeUnit.SECONDS).getMessage().contains("lost the driver's exchange in round 0"));
            }
            assertEquals(
                    "segment exchange: task 1 sent a message of segment 7",
                    hub.firstFailure().getMessage());
            pool.shutdown();
        }
    }

    private static boolean threadAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }
}
