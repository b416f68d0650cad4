package io.ssmspark.jobs.exchange;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's side of the barrier tasks' exchange rounds: a small TCP service the tasks of one barrier stage
 * connect to ({@link ExchangeClient}). Each round, every task of a group sends one message; when all have arrived,
 * every task gets all of them, in task order (an all-gather, as sequence-parallel training's parts need), or, where
 * the hub was started with a {@link RoundFold} (scoring), each task the one answer the fold computes for it from all
 * of them. Spark's own {@code BarrierTaskContext.allGather} polls for the answer once a second, which a scoring
 * wave (two rounds per Mamba2 layer) cannot afford.
 *
 * <p>Rounds are grouped by stage attempt, so a retried stage starts afresh. A task that has taken part in every
 * round says so before it closes its connection; one whose connection drops before that breaks its attempt's
 * group, so every other task of the attempt fails at once instead of waiting for it (Spark then retries the
 * stage). A task that fails says why first; the driver names that failure ({@link #firstFailure()}), not the others'
 * lost exchange. Connections must identify themselves within {@link #HELLO_TIMEOUT_MILLIS} ({@link
 * ExchangeHandshake}: the hub's random token, or with {@code spark.authenticate} a proof of the application's secret,
 * see {@link ExchangeSecurity}); one that does not (a port scanner, a stray client) is dropped with a debug line and
 * frees its thread, one with a wrong proof of the secret with a warning. A frame the hub will not take (a length
 * beyond {@link Frames#MAX_MESSAGE_BYTES}, an encrypted frame that fails authentication) ends that connection with a
 * warning and frees its task's place, but breaks no one else's exchange. Once a task has
 * joined, the hub waits for its next round as long as the task computes (a layer of a long segment may take
 * minutes), but a round's message, once begun, must arrive within {@link #MESSAGE_TIMEOUT_MILLIS}. Closed by
 * {@link #close()}.
 */
public final class ExchangeHub implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExchangeHub.class);

    /**
     * Where tasks find the hub: host, port and how they prove themselves: the token they must present, or, when
     * {@code authenticated}, no token (0) but the application's secret, which each executor has from Spark itself.
     */
    public static final class Address implements Serializable {
        private static final long serialVersionUID = 4L;
        final String host;
        final int port;
        final long token;
        final int width;
        /**
         * Tasks per exchange group: tasks g·size .. g·size+size−1 gather among themselves, each group at its own pace
         * (D data-parallel groups of S parts each in sequence-parallel training; one group of all in scoring).
         */
        final int groupSize;
        /** Whether connections prove they hold the application's secret (spark.authenticate) instead of a token. */
        final boolean authenticated;
        /** Whether the frames after the handshake are encrypted (spark.network.crypto.enabled, spark.ssl.enabled). */
        final boolean encrypted;
        /** Messages in each answer: the group's size for an all-gather, 1 where the hub folds ({@link RoundFold}). */
        final int answerSize;

        Address(String host, int port, long token, int width, int groupSize) {
            this(host, port, token, width, groupSize, false, false);
        }

        Address(String host, int port, long token, int width, int groupSize, boolean authenticated, boolean encrypted) {
            this(host, port, token, width, groupSize, authenticated, encrypted, groupSize);
        }

        Address(
                String host,
                int port,
                long token,
                int width,
                int groupSize,
                boolean authenticated,
                boolean encrypted,
                int answerSize) {
            this.answerSize = answerSize;
            this.host = host;
            this.port = port;
            this.token = token;
            this.width = width;
            this.groupSize = groupSize;
            this.authenticated = authenticated;
            this.encrypted = encrypted;
        }

        /** Whether tasks prove they hold the application's secret (spark.authenticate) rather than a token. */
        public boolean authenticated() {
            return authenticated;
        }

        /** Whether every frame after the handshake is encrypted and authenticated. */
        public boolean encrypted() {
            return encrypted;
        }
    }

    /** How long a new connection has to present the token, its stage attempt and task. */
    static final int HELLO_TIMEOUT_MILLIS = 60_000;
    /** How long the rest of a round's message may take once its round number has arrived (as the client's reads). */
    static final int MESSAGE_TIMEOUT_MILLIS = 60_000;

    private final ServerSocket server;
    private final int helloTimeoutMillis;
    private final ExchangeSecurity security;
    private final Address address;
    /** Each new exchange group's fold; null: every group all-gathers. */
    private final Supplier<RoundFold> folds;
    /** The exchange groups of each stage attempt, by {@link #key}. */
    private final Map<Long, Group> groups = new HashMap<>();

    private volatile boolean closed;

    /**
     * Listens on {@code bindHost} (null: every interface) at {@code port} (0: any free one) for stages of
     * {@code width} tasks; tasks reach it at {@code advertisedHost}. IOException naming the port, the setting and the
     * cause when it cannot listen.
     */
    ExchangeHub(String advertisedHost, String bindHost, int port, int width) throws IOException {
        this(advertisedHost, bindHost, port, width, width, HELLO_TIMEOUT_MILLIS);
    }

    /**
     * As above, for stages whose tasks gather in groups of {@code groupSize} (which divides {@code width}), with the
     * time a new connection has to identify itself.
     */
    ExchangeHub(String advertisedHost, String bindHost, int port, int width, int groupSize, int helloTimeoutMillis)
            throws IOException {
        this(advertisedHost, bindHost, port, width, groupSize, helloTimeoutMillis, ExchangeSecurity.NONE, null);
    }

    /**
     * As above, with connections authenticated (and their frames encrypted) as {@code security} says, and each group
     * answered by a fold of {@code folds} (null: all-gathers).
     */
    ExchangeHub(
            String advertisedHost,
            String bindHost,
            int port,
            int width,
            int groupSize,
            int helloTimeoutMillis,
            ExchangeSecurity security,
            Supplier<RoundFold> folds)
            throws IOException {
        if (groupSize < 1 || width % groupSize != 0) {
            throw new IllegalArgumentException(
                    "exchange groups of " + groupSize + " tasks do not divide a stage of " + width);
        }
        this.helloTimeoutMillis = helloTimeoutMillis;
        this.security = security;
        this.folds = folds;
        server = new ServerSocket();
        try {
            server.bind(new InetSocketAddress(bindHost == null ? null : InetAddress.getByName(bindHost), port), 64);
        } catch (IOException e) {
            server.close();
            throw new IOException(
                    "segment exchange: cannot listen on " + (port == 0 ? "any free port" : "port " + port)
                            + " (spark.ssm.exchange.port) of " + (bindHost == null ? "every interface" : bindHost)
                            + ": "
                            + e.getMessage() + "; set spark.ssm.exchange.port to a free port, or 0 for any",
                    e);
        }
        address = new Address(
                advertisedHost,
                server.getLocalPort(),
                security.authenticated() ? 0 : new SecureRandom().nextLong(), // the secret stands in for the token
                width,
                groupSize,
                security.authenticated(),
                security.encrypted(),
                folds == null ? groupSize : 1);
        Thread acceptor = new Thread(this::acceptLoop, "ssm-exchange-hub-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * The exchange of a barrier stage of {@code width} tasks gathering in groups of {@code groupSize}, on the driver:
     * advertised at spark.driver.host, bound to spark.driver.bindAddress (else every interface), on
     * spark.ssm.exchange.port (default: any free port); authenticated with the application's secret under
     * spark.authenticate, and encrypted too under spark.network.crypto.enabled or spark.ssl.enabled ({@link
     * ExchangeSecurity}; IllegalArgumentException naming the settings for encryption without authentication).
     */
    public static ExchangeHub start(SparkConf conf, int width, int groupSize) {
        return start(conf, width, groupSize, null);
    }

    /**
     * As {@link #start(SparkConf, int, int)}, for one group of all {@code width} tasks whose rounds {@code folds}'s
     * folds answer (one per stage attempt): each task gets one message per round.
     */
    public static ExchangeHub startFolding(SparkConf conf, int width, Supplier<RoundFold> folds) {
        return start(conf, width, width, folds);
    }

    private static ExchangeHub start(SparkConf conf, int width, int groupSize, Supplier<RoundFold> folds) {
        ExchangeSecurity security = ExchangeSecurity.fromSpark(conf);
        String host;
        try {
            host = conf.get("spark.driver.host", InetAddress.getLocalHost().getHostAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "segment exchange: cannot find the driver's own address (set spark.driver.host): " + e.getMessage(),
                    e);
        }
        try {
            return new ExchangeHub(
                    host,
                    conf.get("spark.driver.bindAddress", null),
                    conf.getInt("spark.ssm.exchange.port", 0),
                    width,
                    groupSize,
                    HELLO_TIMEOUT_MILLIS,
                    security,
                    folds);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e); // names the port, the setting and the cause
        }
    }

    public Address address() {
        return address;
    }

    /**
     * How far the newest stage attempt has got: the rounds all its tasks have completed, and the share of its tasks'
     * time since the first joined that they spent waiting at the hub for the others, over the completed rounds
     * (NaN before any).
     */
    public record Rounds(int attempt, long completed, double waitShare) {
        public Rounds(int attempt, long completed) {
            this(attempt, completed, Double.NaN);
        }
    }

    /** The rounds completed by the newest stage attempt so far ((0, 0) before any task has connected). */
    public Rounds rounds() {
        synchronized (groups) {
            return newestAttempt()
                    .map(a -> {
                        Group g = groups.getOrDefault(key(a, 0), new Group(1, null));
                        return new Rounds(a, g.completed(), g.waitShare());
                    })
                    .orElse(new Rounds(0, 0));
        }
    }

    /**
     * Why the newest stage attempt failed: the exception of the first task that said so while the attempt was still
     * whole, before the others lost their exchange; null when no task said.
     */
    public Throwable firstFailure() {
        synchronized (groups) {
            return newestAttempt()
                    .flatMap(a -> groups.entrySet().stream()
                            .filter(e -> e.getKey() >>> 32 == a && e.getValue().failure() != null)
                            .map(e -> e.getValue().failure())
                            .findFirst())
                    .orElse(null);
        }
    }

    private java.util.Optional<Integer> newestAttempt() {
        return groups.keySet().stream().map(k -> (int) (k >>> 32)).max(Integer::compare);
    }

    /**
     * Breaks every exchange group of stage attempt {@code attempt}: once one task of it fails, Spark retries the whole
     * barrier stage, and the other groups' tasks (killed, but computing until they next wait) must not complete
     * their windows as if the attempt still stood.
     */
    private void breakAttempt(int attempt) {
        synchronized (groups) {
            groups.forEach((k, g) -> {
                if (k >>> 32 == attempt) {
                    g.breakUp();
                }
            });
        }
    }

    /** Stage attempt {@code attempt}'s exchange group {@code group}. */
    private static long key(int attempt, int group) {
        return ((long) attempt << 32) | group;
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.debug("closing the exchange hub: {}", e.getMessage());
        }
        synchronized (groups) {
            for (Group g : groups.values()) {
                g.breakUp();
            }
            groups.clear();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                Thread t = new Thread(() -> serve(s), "ssm-exchange-" + s.getRemoteSocketAddress());
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("exchange hub: accept failed: {}", e.getMessage());
                }
            }
        }
    }

    /** One task's connection: its handshake (who it is), then one message per round. */
    private void serve(Socket socket) {
        Group group = null;
        int task = -1;
        int attempt = -1;
        try (socket) {
            socket.setSoTimeout(helloTimeoutMillis);
            socket.setKeepAlive(true); // so the connection of an executor that vanished unannounced ends too
            ExchangeHandshake.Joined joined;
            try {
                joined = ExchangeHandshake.atHub(
                        new BufferedInputStream(socket.getInputStream(), 1 << 16),
                        new BufferedOutputStream(socket.getOutputStream(), 1 << 16),
                        security,
                        address.token);
            } catch (ExchangeHandshake.Refused e) {
                if (e.authentication) {
                    LOG.warn(
                            "exchange hub: refused a connection from {}: {}",
                            socket.getRemoteSocketAddress(),
                            e.getMessage());
                } else {
                    dropStranger(socket, e.getMessage());
                }
                return;
            } catch (IOException e) { // closed, reset or silent before its hello was complete
                dropStranger(
                        socket,
                        e instanceof SocketTimeoutException
                                ? "no hello within " + helloTimeoutMillis + " ms"
                                : e instanceof EOFException ? "closed before its hello" : e.toString());
                return;
            }
            task = joined.task();
            DataInputStream in = joined.in();
            DataOutputStream out = joined.out();
            if (task < 0 || task >= address.width) {
                throw new IOException("task " + task + " outside [0, " + address.width + ")");
            }
            Group joining;
            synchronized (groups) {
                joining = groups.computeIfAbsent(
                        key(joined.attempt(), task / address.groupSize),
                        k -> new Group(address.groupSize, folds == null ? null : folds.get()));
            }
            int member = task % address.groupSize; // the task's index in its group
            if (!joining.join(member, out)) {
                LOG.warn(
                        "exchange hub: refused a second connection for task {} of stage attempt {} from {}",
                        task,
                        joined.attempt(),
                        socket.getRemoteSocketAddress());
                return;
            }
            group = joining;
            attempt = joined.attempt();
            try {
                rounds(socket, group, task, member, in);
                if (group.isBroken()) {
                    breakAttempt(attempt);
                }
            } catch (RefusedFrameException e) {
                // garbage on a joined connection (a bug, a stranger who knew the token, a tampered frame): this
                // connection ends and frees its task's place, before it closes (so the task's next connection finds
                // the place free); the other tasks' exchange goes on
                LOG.warn(
                        "exchange hub: dropped the connection of task {} from {}: {}",
                        task,
                        socket.getRemoteSocketAddress(),
                        e.getMessage());
                group.leave(member, out);
            }
        } catch (EOFException | SocketException e) {
            // the task died (or was killed) before its last round: the others would wait for it forever. Debug only:
            // the task's own failure is what the user is told about, and a retried attempt shows in the progress lines.
            LOG.debug("exchange hub: task {} left before its last round; its stage attempt fails", task);
            if (group != null) {
                group.breakUp();
                breakAttempt(attempt);
            }
        } catch (IOException e) {
            LOG.warn("exchange hub: task {} failed: {}", task, e.getMessage());
            if (group != null) {
                group.breakUp();
                breakAttempt(attempt);
            }
        }
    }

    /** A joined task's rounds (it is {@code member} of its group), until it is done or fails. */
    private static void rounds(Socket socket, Group group, int task, int member, DataInputStream in)
            throws IOException {
        while (true) {
            socket.setSoTimeout(0); // the task computes its next round for as long as it takes
            int round = in.readInt();
            if (round == ExchangeClient.DONE) {
                return; // the task has taken part in every round
            }
            socket.setSoTimeout(MESSAGE_TIMEOUT_MILLIS);
            if (round == ExchangeClient.FAILED) {
                byte[] failure = Frames.read(in, Frames.MAX_MESSAGE_BYTES, "task " + task + "'s failure");
                group.fail(TaskFailure.fromBytes(failure));
                return;
            }
            byte[] message = Frames.read(in, Frames.MAX_MESSAGE_BYTES, "task " + task + "'s message of round " + round);
            group.deliver(member, round, message);
        }
    }

    /** A connection that never identified itself is no task: nothing failed, so a debug line is enough. */
    private static void dropStranger(Socket socket, String why) {
        LOG.debug(
                "exchange hub: dropped a connection from {} that never identified itself ({})",
                socket.getRemoteSocketAddress(),
                why);
    }

    /** The tasks of one exchange group of a stage attempt (by their index in the group) and the round in progress. */
    private static final class Group {
        private final DataOutputStream[] outs;
        private final byte[][] messages;
        /** Null: an all-gather. */
        private final RoundFold fold;
        /** When each task's message of the open round arrived; when the first task joined. */
        private final long[] arrivedNanos;

        private long startNanos;
        /** Σ over completed rounds and tasks of the time from a task's message to the round's answer. */
        private long waitNanos;

        private int round = -1;
        private int arrived;
        private long completed;
        private boolean broken;
        private Throwable failure;

        Group(int width, RoundFold fold) {
            outs = new DataOutputStream[width];
            messages = new byte[width][];
            arrivedNanos = new long[width];
            this.fold = fold;
        }

        /** False when the task has a connection already (a second one is no task of this attempt). */
        synchronized boolean join(int task, DataOutputStream out) throws IOException {
            if (broken) {
                throw new IOException("the exchange of this stage attempt has broken up");
            }
            if (outs[task] != null) {
                return false;
            }
            if (startNanos == 0) {
                startNanos = System.nanoTime();
            }
            outs[task] = out;
            return true;
        }

        /** A connection the hub dropped for a refused frame frees its task's place; the round in progress stays open. */
        synchronized void leave(int task, DataOutputStream out) {
            if (outs[task] != out) {
                return;
            }
            outs[task] = null;
            if (messages[task] != null) { // a new connection for the task may send it again
                messages[task] = null;
                arrived--;
            }
        }

        /**
         * Stores a task's message for {@code r}; the last one to arrive sends every task the whole round, or, where
         * the group folds, each task its own answer.
         */
        synchronized void deliver(int task, int r, byte[] message) throws IOException {
            if (broken) {
                throw new IOException("the exchange of this stage attempt has broken up");
            }
            if (arrived == 0) {
                round = r;
            } else if (r != round) {
                throw new IOException("task " + task + " sent round " + r + " while round " + round + " is open");
            }
            if (messages[task] != null) {
                throw new IOException("task " + task + " sent round " + r + " twice");
            }
            messages[task] = message;
            arrivedNanos[task] = System.nanoTime();
            if (++arrived < outs.length) {
                return;
            }
            long answered = System.nanoTime();
            for (long t : arrivedNanos) {
                waitNanos += answered - t;
            }
            if (fold == null) {
                for (DataOutputStream out : outs) {
                    writeAnswer(out, messages);
                }
            } else {
                byte[][] answers = folded(r);
                for (int t = 0; t < outs.length; t++) {
                    writeAnswer(outs[t], new byte[][] {answers[t]});
                }
            }
            java.util.Arrays.fill(messages, null);
            arrived = 0;
            completed++;
        }

        /** The fold's answers to round r; a fold that throws fails the group, and the driver names its exception. */
        private byte[][] folded(int r) throws IOException {
            byte[][] answers;
            try {
                answers = fold.answer(r, messages);
            } catch (RuntimeException e) {
                fail(e);
                throw new IOException("the driver's fold of round " + r + " failed: " + e.getMessage(), e);
            }
            if (answers.length != outs.length) {
                IllegalStateException e = new IllegalStateException(
                        "the fold of round " + r + " answered " + answers.length + " tasks, not " + outs.length);
                fail(e);
                throw new IOException(e.getMessage(), e);
            }
            return answers;
        }

        private static void writeAnswer(DataOutputStream out, byte[][] answer) throws IOException {
            out.writeInt(answer.length);
            for (byte[] m : answer) {
                out.writeInt(m.length);
                out.write(m);
            }
            out.flush();
        }

        synchronized long completed() {
            return completed;
        }

        synchronized double waitShare() {
            long span = System.nanoTime() - startNanos;
            return completed == 0 || span <= 0 ? Double.NaN : waitNanos / ((double) span * outs.length);
        }

        /** A task fails: the first such reason while the group is whole is kept, and the group breaks up. */
        synchronized void fail(Throwable cause) {
            if (!broken && failure == null) {
                failure = cause;
            }
            breakUp();
        }

        synchronized Throwable failure() {
            return failure;
        }

        synchronized boolean isBroken() {
            return broken;
        }

        synchronized void breakUp() {
            broken = true;
            for (DataOutputStream out : outs) {
                if (out != null) {
                    try {
                        out.close();
                    } catch (IOException e) {
                        // already gone
                    }
                }
            }
        }
    }
}
