package io.ssmspark.jobs.exchange;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM for one direction of one connection: each frame is sealed (or opened) under the next value of a frame
 * counter, which is the 96-bit nonce (4 zero bytes, then the counter, big-endian). Both ends count the frames of the
 * direction, so a replayed, reordered, dropped or altered frame fails to open. The key is used for this direction of
 * this connection only (see {@link ExchangeHandshake}), so counter nonces never repeat under one key.
 */
final class FrameCipher {
    /** GCM's tag: 128 bits, the most it offers. */
    static final int TAG_BYTES = 16;

    private static final String TRANSFORMATION = "AES/GCM/NoPadding";

    private final SecretKeySpec key;
    private final Cipher cipher;
    private long counter;

    FrameCipher(byte[] key) {
        if (key.length != 32) {
            throw new IllegalArgumentException("an AES-256 key has 32 bytes, not " + key.length);
        }
        this.key = new SecretKeySpec(key, "AES");
        try {
            cipher = Cipher.getInstance(TRANSFORMATION);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM offers no " + TRANSFORMATION, e);
        }
    }

    /** The next frame's ciphertext and tag; {@code header} (the frame's length prefix) is authenticated too. */
    byte[] seal(byte[] header, byte[] plain, int offset, int length) {
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, nextNonce());
            cipher.updateAAD(header);
            return cipher.doFinal(plain, offset, length);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM failed to seal a frame", e);
        }
    }

    /** The next frame's plaintext; RefusedFrameException when it fails authentication. */
    byte[] open(byte[] header, byte[] sealed) throws RefusedFrameException {
        GCMParameterSpec nonce = nextNonce();
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, nonce);
            cipher.updateAAD(header);
            return cipher.doFinal(sealed);
        } catch (javax.crypto.AEADBadTagException e) {
            throw new RefusedFrameException(
                    "an encrypted frame failed authentication (altered, replayed or reordered)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM failed to open a frame", e);
        }
    }

    private GCMParameterSpec nextNonce() {
        if (counter < 0) { // 2^63 frames: never in practice, but a nonce must not repeat
            throw new IllegalStateException("the exchange's frame counter is exhausted");
        }
        byte[] nonce = ByteBuffer.allocate(12).putInt(0).putLong(counter++).array();
        return new GCMParameterSpec(TAG_BYTES * 8, nonce);
    }
}
