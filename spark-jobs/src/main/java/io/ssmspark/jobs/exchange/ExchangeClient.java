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

/**
 * A scoring task's connection to the driver's {@link ExchangeHub}: {@link #allGather} sends this task's message of
 * the round and returns every task's, in task order. While it waits it checks once a second whether Spark has
 * killed the task. A failing task says why before it goes ({@link #failed}).
 */
public final class ExchangeClient implements AllGather, AutoCloseable {
    /** The round number that tells the hub this task has taken part in every round. */
    static final int DONE = -1;
    /** The round number that tells the hub this task fails; its exception follows ({@link TaskFailure}). */
    static final int FAILED = -2;

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final BooleanSupplier killed;
    private int round;

    public ExchangeClient(ExchangeHub.Address hub, int stageAttempt, int task, BooleanSupplier killed) {
        this.killed = killed;
        try {
            socket = new Socket();
            socket.connect(new InetSocketAddress(hub.host, hub.port), 60_000);
            socket.setTcpNoDelay(true);
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
            out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
            out.writeLong(hub.token);
            out.writeInt(stageAttempt);
            out.writeInt(task);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "segment exchange: cannot reach the driver at " + hub.host + ":" + hub.port
                            + " (set spark.ssm.exchange.port to a port the executors may reach)",
                    e);
        }
    }

    @Override
    public byte[][] allGather(byte[] message) {
        try {
            out.writeInt(round++);
            out.writeInt(message.length);
            out.write(message);
            out.flush();
            int n = readInt();
            byte[][] all = new byte[n][];
            for (int i = 0; i < n; i++) {
                all[i] = new byte[in.readInt()];
                in.readFully(all[i]);
            }
            return all;
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
        while (true) {
            try {
                in.mark(1);
                if (in.read() < 0) {
                    throw new java.io.EOFException("the driver closed the exchange");
                }
                in.reset();
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
