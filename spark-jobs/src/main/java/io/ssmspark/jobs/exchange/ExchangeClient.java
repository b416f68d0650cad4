package io.ssmspark.jobs.exchange;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task's connection to the driver's {@link ExchangeHub}: {@link #round} sends this task's message of the round
 * and returns the hub's answer: every task's message, in task order, or (where the hub folds) this task's own. While it waits it checks once a second whether Spark has
 * killed the task. A failing task says why before it goes ({@link #failed}). It proves itself as the hub's address
 * says ({@link ExchangeHandshake}): with the token, or with the application's secret, which it takes from this
 * executor's Spark ({@link ExchangeSecurity#sparkSecret()}).
 */
public final class ExchangeClient implements TaskExchange, AutoCloseable {
    /** The round number that tells the hub this task has taken part in every round. */
    static final int DONE = -1;
    /** The round number that tells the hub this task fails; its exception follows ({@link TaskFailure}). */
    static final int FAILED = -2;

    private static final Logger LOG = LoggerFactory.getLogger(ExchangeClient.class);

    private final Socket socket;
    private final String where;
    /** Messages in each answer ({@link ExchangeHub.Address#answerSize}). */
    private final int answerSize;
    /** The connection's bytes as they arrive (encrypted or not): the wait for an answer watches them. */
    private final BufferedInputStream raw;

    private final DataInputStream in;
    private final DataOutputStream out;
    private final BooleanSupplier killed;
    private int round;

    public ExchangeClient(ExchangeHub.Address hub, int stageAttempt, int task, BooleanSupplier killed) {
        this(hub, stageAttempt, task, killed, hub.authenticated ? ExchangeSecurity.sparkSecret() : null);
    }

    /** As above, with the application's secret given ({@code secret}; null without spark.authenticate). */
    ExchangeClient(ExchangeHub.Address hub, int stageAttempt, int task, BooleanSupplier killed, byte[] secret) {
        this.killed = killed;
        this.where = hub.host + ":" + hub.port;
        this.answerSize = hub.answerSize;
        if (hub.authenticated && secret == null) {
            throw new IllegalArgumentException(
                    "segment exchange: the hub is authenticated (spark.authenticate) but this task has no secret");
        }
        ExchangeSecurity security =
                hub.authenticated ? new ExchangeSecurity(secret, hub.encrypted) : ExchangeSecurity.NONE;
        BufferedOutputStream rawOut;
        try {
            socket = new Socket();
            socket.connect(new InetSocketAddress(hub.host, hub.port), 60_000);
            socket.setTcpNoDelay(true);
            raw = new BufferedInputStream(socket.getInputStream(), 1 << 16);
            rawOut = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "segment exchange: cannot reach the driver at " + where
                            + " (set spark.ssm.exchange.port to a port the executors may reach)",
                    e);
        }
        try {
            socket.setSoTimeout(60_000); // the hub answers a handshake at once
            ExchangeHandshake.Joined joined =
                    ExchangeHandshake.atClient(raw, rawOut, security, hub.token, stageAttempt, task, where);
            in = joined.in();
            out = joined.out();
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(
                    e.getMessage() != null && e.getMessage().startsWith("segment exchange:")
                            ? e.getMessage()
                            : "segment exchange: the handshake with the driver's exchange at " + where + " failed: "
                                    + e,
                    e);
        }
    }

    @Override
    public byte[][] round(byte[] message) {
        try {
            if (message.length > Frames.MAX_MESSAGE_BYTES) {
                throw new IllegalArgumentException("segment exchange: a message of " + message.length
                        + " bytes, more than the exchange's bound of " + Frames.MAX_MESSAGE_BYTES);
            }
            out.writeInt(round++);
            out.writeInt(message.length);
            out.write(message);
            out.flush();
            int n = readInt();
            if (n != answerSize) {
                throw new RefusedFrameException("an answer of " + n + " messages, not " + answerSize);
            }
            byte[][] all = new byte[n][];
            for (int i = 0; i < n; i++) {
                all[i] = Frames.read(in, Frames.MAX_MESSAGE_BYTES, "message " + i + " of the answer");
            }
            return all;
        } catch (RefusedFrameException e) {
            LOG.warn("segment exchange: refused the answer of the driver's exchange at {}: {}", where, e.getMessage());
            throw new UncheckedIOException("segment exchange: lost the driver's exchange in round " + (round - 1), e);
        } catch (IOException e) {
            throw new UncheckedIOException("segment exchange: lost the driver's exchange in round " + (round - 1), e);
        }
    }

    /**
     * The first int of the answer, waiting as long as the other tasks take (checking each second whether the task was
     * killed); the rest of the answer then has a minute per read.
     */
    private int readInt() throws IOException {
        socket.setSoTimeout(1_000);
        while (in.available() == 0) { // nothing opened yet: wait for the connection's next byte, not consuming it
            try {
                raw.mark(1);
                if (raw.read() < 0) {
                    throw new java.io.EOFException("the driver closed the exchange");
                }
                raw.reset();
                break;
            } catch (SocketTimeoutException e) {
                if (killed.getAsBoolean()) {
                    throw new IOException("the task was killed while waiting for the other segments");
                }
            }
        }
        socket.setSoTimeout(60_000);
        return in.readInt();
    }

    /** Tells the hub this task has taken part in every round (a connection closed without it breaks the stage). */
    @Override
    public void finish() {
        try {
            out.writeInt(DONE);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("segment exchange: lost the driver's exchange after the last round", e);
        }
    }

    /**
     * Tells the hub why this task fails, so that the driver can name the failure that broke the stage attempt
     * rather than the other tasks' lost exchange. Best effort: a hub that is gone has heard from another task.
     */
    @Override
    public void failed(Throwable cause) {
        try {
            byte[] failure = TaskFailure.toBytes(cause);
            out.writeInt(FAILED);
            out.writeInt(failure.length);
            out.write(failure);
            out.flush();
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            // Spark reports the task's failure itself
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }
}
