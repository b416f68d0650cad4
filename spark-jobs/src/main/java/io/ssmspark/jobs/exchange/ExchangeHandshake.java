package io.ssmspark.jobs.exchange;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a connection to the {@link ExchangeHub} says which task it is and proves it may take part, before any round.
 *
 * <p>Without a secret, the client sends the hub's token (from the task closure), its stage attempt and task.
 *
 * <p>With the application's secret ({@code spark.authenticate}), a mutual challenge–response in which the secret never
 * crosses the wire: the hub sends a fresh nonce; the client sends its stage attempt, task, a nonce of its own and
 * HMAC-SHA256(secret, "ssm-exchange" ‖ 'C' ‖ hub nonce ‖ client nonce ‖ attempt ‖ task); the hub checks it and answers
 * with a status byte and, when accepted, its own HMAC over the same fields with 'H' in place of 'C' (a role byte, so a
 * fake hub cannot echo the client's MAC back). Both MACs are compared in constant time. With encryption, each
 * direction then gets its own AES key, HKDF-SHA256 (RFC 5869) of the secret salted with both nonces, so no two
 * connections, and no two directions, share a key.
 */
final class ExchangeHandshake {
    static final int NONCE_BYTES = 32;
    static final byte ACCEPTED = 1;
    static final byte REFUSED = 0;

    private static final byte[] LABEL = "ssm-exchange".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private ExchangeHandshake() {}

    /** A connection that passed the handshake: who it is, and the streams its rounds run on. */
    record Joined(int attempt, int task, DataInputStream in, DataOutputStream out) {}

    /** A connection the hub refuses: {@code authentication} when it presented a wrong proof of the secret. */
    static final class Refused extends IOException {
        private static final long serialVersionUID = 1L;
        final boolean authentication;

        Refused(String why, boolean authentication) {
            super(why);
            this.authentication = authentication;
        }
    }

    /**
     * The hub's side. Refused for a wrong token or proof; any other IOException when the connection closed, reset or
     * went silent before the handshake was through.
     */
    static Joined atHub(InputStream rawIn, OutputStream rawOut, ExchangeSecurity security, long token)
            throws IOException {
        DataInputStream in = new DataInputStream(rawIn);
        DataOutputStream out = new DataOutputStream(rawOut);
        if (!security.authenticated()) {
            if (in.readLong() != token) {
                throw new Refused("a wrong token", false);
            }
            return new Joined(in.readInt(), in.readInt(), in, out);
        }
        byte[] hubNonce = nonce();
        out.write(hubNonce);
        out.flush();
        int attempt = in.readInt();
        int task = in.readInt();
        byte[] clientNonce = new byte[NONCE_BYTES];
        in.readFully(clientNonce);
        byte[] proof = new byte[32];
        in.readFully(proof);
        byte[] secret = security.secret();
        if (!MessageDigest.isEqual(proof, mac(secret, 'C', hubNonce, clientNonce, attempt, task))) {
            out.writeByte(REFUSED);
            out.flush();
            throw new Refused("a wrong proof of the application's secret (spark.authenticate)", true);
        }
        out.writeByte(ACCEPTED);
        out.write(mac(secret, 'H', hubNonce, clientNonce, attempt, task));
        out.flush();
        return streams(security, attempt, task, in, out, hubNonce, clientNonce, true);
    }

    /**
     * The client's side, for stage attempt {@code attempt} and task {@code task} of the hub at {@code where}: an
     * IOException saying authentication failed (and naming spark.authenticate) when either side's proof is wrong.
     */
    static Joined atClient(
            InputStream rawIn,
            OutputStream rawOut,
            ExchangeSecurity security,
            long token,
            int attempt,
            int task,
            String where)
            throws IOException {
        DataInputStream in = new DataInputStream(rawIn);
        DataOutputStream out = new DataOutputStream(rawOut);
        if (!security.authenticated()) {
            out.writeLong(token);
            out.writeInt(attempt);
            out.writeInt(task);
            out.flush();
            return new Joined(attempt, task, in, out);
        }
        byte[] hubNonce = new byte[NONCE_BYTES];
        in.readFully(hubNonce);
        byte[] clientNonce = nonce();
        byte[] secret = security.secret();
        out.writeInt(attempt);
        out.writeInt(task);
        out.write(clientNonce);
        out.write(mac(secret, 'C', hubNonce, clientNonce, attempt, task));
        out.flush();
        int status = in.read();
        if (status != ACCEPTED) { // REFUSED, or closed
            throw new IOException("segment exchange: authentication failed: the driver's exchange at " + where
                    + " refused this task's proof of the application's secret (spark.authenticate: the driver and"
                    + " the executors must share one secret)");
        }
        byte[] proof = new byte[32];
        in.readFully(proof);
        if (!MessageDigest.isEqual(proof, mac(secret, 'H', hubNonce, clientNonce, attempt, task))) {
            throw new IOException("segment exchange: authentication failed: the exchange at " + where
                    + " does not know the application's secret (spark.authenticate); is another process listening"
                    + " on spark.ssm.exchange.port?");
        }
        return streams(security, attempt, task, in, out, hubNonce, clientNonce, false);
    }

    /** The plain streams, or with encryption the sealing and opening ones, each direction under its own key. */
    private static Joined streams(
            ExchangeSecurity security,
            int attempt,
            int task,
            DataInputStream in,
            DataOutputStream out,
            byte[] hubNonce,
            byte[] clientNonce,
            boolean hub) {
        if (!security.encrypted()) {
            return new Joined(attempt, task, in, out);
        }
        byte[] salt = concat(hubNonce, clientNonce);
        FrameCipher up = new FrameCipher(hkdf(security.secret(), salt, info("client->hub", attempt, task)));
        FrameCipher down = new FrameCipher(hkdf(security.secret(), salt, info("hub->client", attempt, task)));
        return new Joined(
                attempt,
                task,
                new DataInputStream(SecureChannel.input(in, hub ? up : down)),
                new DataOutputStream(SecureChannel.output(out, hub ? down : up)));
    }

    static byte[] mac(byte[] secret, char role, byte[] hubNonce, byte[] clientNonce, int attempt, int task) {
        return hmac(
                secret,
                ByteBuffer.allocate(LABEL.length + 1 + 2 * NONCE_BYTES + 8)
                        .put(LABEL)
                        .put((byte) role)
                        .put(hubNonce)
                        .put(clientNonce)
                        .putInt(attempt)
                        .putInt(task)
                        .array());
    }

    /**
     * HKDF-SHA256 (RFC 5869) for a 32-byte key: extract PRK = HMAC(salt, secret), then expand to the first block,
     * T(1) = HMAC(PRK, info ‖ 0x01), which is already 32 bytes.
     */
    static byte[] hkdf(byte[] secret, byte[] salt, byte[] info) {
        byte[] prk = hmac(salt, secret);
        return hmac(prk, concat(info, new byte[] {1}));
    }

    private static byte[] info(String direction, int attempt, int task) {
        return ByteBuffer.allocate(LABEL.length + 1 + direction.length() + 8)
                .put(LABEL)
                .put((byte) ' ')
                .put(direction.getBytes(StandardCharsets.US_ASCII))
                .putInt(attempt)
                .putInt(task)
                .array();
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM offers no HmacSHA256", e);
        }
    }

    private static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = new byte[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
