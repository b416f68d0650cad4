package io.ssmspark.jobs.exchange;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.score.LogCapture;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The exchange under spark.authenticate (and encryption): tasks holding the secret complete their rounds; a wrong
 * secret, garbage, an oversized length prefix and a tampered frame each end their own connection only.
 */
class SecuredExchangeTest {
    private static final byte[] SECRET = "the application's secret".getBytes(StandardCharsets.UTF_8);
    private static final byte[] WRONG = "another application's secret".getBytes(StandardCharsets.UTF_8);
    private static final int ROUNDS = 4;

    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ExchangeHub hub(String mode) throws IOException {
        ExchangeSecurity security = switch (mode) {
            case "token" -> ExchangeSecurity.NONE;
            case "secret" -> new ExchangeSecurity(SECRET, false);
            case "encrypted" -> new ExchangeSecurity(SECRET, true);
            default -> throw new IllegalArgumentException(mode);
        };
        return new ExchangeHub("127.0.0.1", "127.0.0.1", 0, 3, 3, ExchangeHub.HELLO_TIMEOUT_MILLIS, security, null);
    }

    /** Task {@code t} of attempt 0 through {@code port}: ROUNDS rounds, every message it saw, in order. */
    private Future<List<String>> task(ExchangeHub.Address hub, int port, int t) {
        ExchangeHub.Address at = new ExchangeHub.Address(
                hub.host, port, hub.token, hub.width, hub.groupSize, hub.authenticated, hub.encrypted);
        return pool.submit(() -> {
            List<String> seen = new ArrayList<>();
            try (ExchangeClient c = new ExchangeClient(at, 0, t, () -> false, hub.authenticated ? SECRET : null)) {
                for (int round = 0; round < ROUNDS; round++) {
                    for (byte[] m : c.round(text("t" + t + "r" + round))) {
                        seen.add(new String(m, StandardCharsets.UTF_8));
                    }
                }
                c.finish();
            }
            return seen;
        });
    }

    private static void assertAllRounds(List<Future<List<String>>> tasks) throws Exception {
        List<String> expected = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            for (int t = 0; t < 3; t++) {
                expected.add("t" + t + "r" + round);
            }
        }
        for (Future<List<String>> f : tasks) {
            assertEquals(expected, f.get(30, TimeUnit.SECONDS));
        }
    }

    /**
     * Three tasks with the secret complete four rounds; the address carries no secret (nor a token); with encryption no
     * message crosses the wire in the clear, without it they do (so the check can see them).
     */
    @ParameterizedTest
    @ValueSource(strings = {"secret", "encrypted"})
    void threeTasksWithTheSecretCompleteFourRounds(String mode) throws Exception {
        try (ExchangeHub hub = hub(mode);
                Proxy wire = new Proxy(hub.address().port, -1)) {
            ExchangeHub.Address a = hub.address();
            assertTrue(a.authenticated());
            assertEquals(mode.equals("encrypted"), a.encrypted());
            assertEquals(0, a.token);
            assertFalse(contains(serialized(a), SECRET), "the secret stays out of the task closure");
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                List<Future<List<String>>> tasks =
                        List.of(task(a, wire.port(), 0), task(a, a.port, 1), task(a, a.port, 2));
                assertAllRounds(tasks);
            });
            byte[] up = wire.clientToHub();
            assertTrue(up.length > 72, "the proxied task's bytes");
            assertFalse(contains(up, SECRET), "the secret never crosses the wire");
            assertEquals(mode.equals("secret"), contains(up, text("t0r0")), "messages in the clear");
        }
    }

    /**
     * Six encrypted tasks in two groups of three (as sequence-parallel training gathers): each group's answers, in
     * task order, reach only its own tasks.
     */
    @Test
    void encryptedGroupsAnswerOnlyTheirOwnTasks() throws Exception {
        try (ExchangeHub hub = new ExchangeHub(
                "127.0.0.1",
                "127.0.0.1",
                0,
                6,
                3,
                ExchangeHub.HELLO_TIMEOUT_MILLIS,
                new ExchangeSecurity(SECRET, true),
                null)) {
            ExchangeHub.Address a = hub.address();
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                List<Future<List<String>>> tasks = new ArrayList<>();
                for (int t = 0; t < 6; t++) {
                    tasks.add(task(a, a.port, t));
                }
                for (int t = 0; t < 6; t++) {
                    int first = t / 3 * 3;
                    List<String> expected = new ArrayList<>();
                    for (int round = 0; round < ROUNDS; round++) {
                        for (int i = first; i < first + 3; i++) {
                            expected.add("t" + i + "r" + round);
                        }
                    }
                    assertEquals(expected, tasks.get(t).get(30, TimeUnit.SECONDS), "task " + t);
                }
            });
        }
    }

    /** A task whose secret differs is refused at its handshake, with a warning naming where it came from. */
    @ParameterizedTest
    @ValueSource(strings = {"secret", "encrypted"})
    void aClientWithTheWrongSecretIsRefusedWhileTheOthersComplete(String mode) throws Exception {
        try (LogCapture log = new LogCapture(ExchangeHub.class);
                ExchangeHub hub = hub(mode)) {
            ExchangeHub.Address a = hub.address();
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                UncheckedIOException e =
                        assertThrows(UncheckedIOException.class, () -> new ExchangeClient(a, 0, 1, () -> false, WRONG));
                assertTrue(e.getCause() instanceof IOException);
                assertEquals(
                        "segment exchange: authentication failed: the driver's exchange at 127.0.0.1:" + a.port
                                + " refused this task's proof of the application's secret (spark.authenticate: the"
                                + " driver and the executors must share one secret)",
                        e.getMessage());
                assertAllRounds(List.of(task(a, a.port, 0), task(a, a.port, 1), task(a, a.port, 2)));
            });
            List<String> warnings = awaitEvents(log, l -> l.startsWith("WARN"), 1);
            assertTrue(
                    warnings.get(0)
                            .matches("WARN exchange hub: refused a connection from /127\\.0\\.0\\.1:\\d+: a wrong proof"
                                    + " of the application's secret \\(spark\\.authenticate\\)"),
                    warnings.get(0));
        }
    }

    /** A listener that accepts any proof but knows no secret is no hub: the task says so instead of sending rounds. */
    @Test
    void aHubWithoutTheSecretIsRefusedByTheTask() throws Exception {
        try (ServerSocket fake = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            pool.submit(() -> {
                try (Socket s = fake.accept()) {
                    s.getOutputStream().write(new byte[ExchangeHandshake.NONCE_BYTES]);
                    s.getInputStream().readNBytes(72);
                    byte[] answer = new byte[33];
                    answer[0] = ExchangeHandshake.ACCEPTED;
                    s.getOutputStream().write(answer);
                    s.getInputStream().read();
                }
                return null;
            });
            ExchangeHub.Address a = new ExchangeHub.Address("127.0.0.1", fake.getLocalPort(), 0, 1, 1, true, false);
            UncheckedIOException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(30),
                    () -> assertThrows(
                            UncheckedIOException.class, () -> new ExchangeClient(a, 0, 0, () -> false, SECRET)));
            assertTrue(
                    e.getMessage()
                            .startsWith("segment exchange: authentication failed: the exchange at 127.0.0.1:"
                                    + fake.getLocalPort() + " does not know the application's secret"),
                    e.getMessage());
        }
    }

    /**
     * While two tasks wait in round 0: a stranger's garbage is dropped at its handshake, and a connection that
     * completes the handshake as task 2 and then claims a message of 2^31 − 1 bytes is dropped before anything is
     * allocated for it, freeing task 2's place; the real task 2 then joins and all three complete their rounds.
     */
    @ParameterizedTest
    @ValueSource(strings = {"token", "secret", "encrypted"})
    void garbageAndAnOversizedLengthAreDroppedWhileTheTasksComplete(String mode) throws Exception {
        try (LogCapture log = new LogCapture(ExchangeHub.class);
                ExchangeHub hub = hub(mode)) {
            ExchangeHub.Address a = hub.address();
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                Future<List<String>> t0 = task(a, a.port, 0);
                Future<List<String>> t1 = task(a, a.port, 1);
                byte[] garbage = new byte[200];
                new Random(3).nextBytes(garbage);
                try (Socket s = new Socket("127.0.0.1", a.port)) {
                    s.getOutputStream().write(garbage);
                    s.getOutputStream().flush();
                    drain(s.getInputStream()); // until the hub closes it
                }
                try (Socket s = new Socket("127.0.0.1", a.port)) {
                    ExchangeHandshake.Joined j = ExchangeHandshake.atClient(
                            new BufferedInputStream(s.getInputStream()),
                            new BufferedOutputStream(s.getOutputStream()),
                            a.authenticated ? new ExchangeSecurity(SECRET, a.encrypted) : ExchangeSecurity.NONE,
                            a.token,
                            0,
                            2,
                            "the hub");
                    j.out().writeInt(0); // round 0
                    j.out().writeInt(Integer.MAX_VALUE); // its message's length
                    j.out().flush();
                    drain(s.getInputStream());
                }
                assertAllRounds(List.of(t0, t1, task(a, a.port, 2)));
            });
            List<String> events =
                    awaitEvents(log, l -> l.startsWith("WARN") || l.contains("never identified itself"), 2);
            assertTrue(
                    events.get(0)
                            .matches(
                                    mode.equals("token")
                                            ? "DEBUG exchange hub: dropped a connection from /127\\.0\\.0\\.1:\\d+ that"
                                                    + " never identified itself \\(a wrong token\\)"
                                            : "WARN exchange hub: refused a connection from /127\\.0\\.0\\.1:\\d+: a"
                                                    + " wrong proof of the application's secret \\(spark\\.authenticate\\)"),
                    events.get(0));
            assertTrue(
                    events.get(1)
                            .matches("WARN exchange hub: dropped the connection of task 2 from /127\\.0\\.0\\.1:\\d+:"
                                    + " task 2's message of round 0 claims 2147483647 bytes, outside the exchange's"
                                    + " bound \\[0, 1073741824\\]"),
                    events.get(1));
        }
    }

    /**
     * A byte flipped in task 2's first encrypted frame: the hub drops that connection with a warning (its task loses
     * the exchange) and frees its place; the other tasks wait on, unharmed, and complete every round with task 2's
     * next connection.
     */
    @Test
    void aTamperedEncryptedFrameBreaksOnlyThatConnection() throws Exception {
        try (LogCapture log = new LogCapture(ExchangeHub.class);
                ExchangeHub hub = hub("encrypted");
                Proxy tampering = new Proxy(hub.address().port, 72 + 4 + 2)) { // past the handshake and frame length
            ExchangeHub.Address a = hub.address();
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                Future<List<String>> t0 = task(a, a.port, 0);
                Future<List<String>> t1 = task(a, a.port, 1);
                ExchangeHub.Address viaProxy =
                        new ExchangeHub.Address(a.host, tampering.port(), a.token, a.width, a.groupSize, true, true);
                try (ExchangeClient tampered = new ExchangeClient(viaProxy, 0, 2, () -> false, SECRET)) {
                    UncheckedIOException e =
                            assertThrows(UncheckedIOException.class, () -> tampered.round(text("t2r0")));
                    assertEquals("segment exchange: lost the driver's exchange in round 0", e.getMessage());
                }
                assertFalse(t0.isDone() || t1.isDone(), "the other tasks still wait for round 0");
                assertAllRounds(List.of(t0, t1, task(a, a.port, 2)));
            });
            List<String> warnings = awaitEvents(log, l -> l.startsWith("WARN"), 1);
            assertTrue(
                    warnings.get(0)
                            .matches("WARN exchange hub: dropped the connection of task 2 from /127\\.0\\.0\\.1:\\d+:"
                                    + " an encrypted frame failed authentication \\(altered, replayed or reordered\\)"),
                    warnings.get(0));
        }
    }

    /**
     * The events that {@code match}, once there are {@code count} (the hub may log a refusal just after the refused
     * side has heard of it); a second look a moment later finds no more.
     */
    private static List<String> awaitEvents(LogCapture log, Predicate<String> match, int count)
            throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (log.events().stream().filter(match).count() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(50);
        List<String> events = log.events().stream().filter(match).toList();
        assertEquals(count, events.size(), log.events().toString());
        return events;
    }

    /** Reads until the hub has closed the connection (by FIN, or by reset when it left our bytes unread). */
    private static void drain(InputStream in) {
        try {
            while (in.read() >= 0) {
                // what the hub sends before it closes (its nonce, its refusal)
            }
        } catch (IOException e) {
            // reset: closed as well
        }
    }

    private static byte[] serialized(Object o) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        return bytes.toByteArray();
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /**
     * A man in the middle for one connection: forwards both ways, records what the client sends, and flips the lowest
     * bit of the client's byte at offset {@code flipAt} (none when negative).
     */
    private static final class Proxy implements AutoCloseable {
        private final ServerSocket server;
        private final ByteArrayOutputStream up = new ByteArrayOutputStream();
        private final List<Socket> sockets = new ArrayList<>();

        Proxy(int hubPort, long flipAt) throws IOException {
            server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                try {
                    Socket client = server.accept();
                    Socket hub = new Socket("127.0.0.1", hubPort);
                    synchronized (sockets) {
                        sockets.add(client);
                        sockets.add(hub);
                    }
                    pump(hub.getInputStream(), client.getOutputStream(), -1, null);
                    pump(client.getInputStream(), hub.getOutputStream(), flipAt, up);
                } catch (IOException e) {
                    // closed
                }
            });
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        byte[] clientToHub() {
            synchronized (up) {
                return up.toByteArray();
            }
        }

        private static void pump(InputStream from, OutputStream to, long flipAt, ByteArrayOutputStream record) {
            Thread t = new Thread(() -> {
                long offset = 0;
                byte[] b = new byte[8192];
                try (from;
                        to) {
                    for (int n; (n = from.read(b)) > 0; offset += n) {
                        if (flipAt >= offset && flipAt < offset + n) {
                            b[(int) (flipAt - offset)] ^= 1;
                        }
                        if (record != null) {
                            synchronized (record) {
                                record.write(b, 0, n);
                            }
                        }
                        to.write(b, 0, n);
                        to.flush();
                    }
                } catch (IOException e) {
                    // either side closed
                }
            });
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (sockets) {
                for (Socket s : sockets) {
                    s.close();
                }
            }
        }
    }
}
