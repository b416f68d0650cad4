package io.ssmspark.jobs.exchange;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * Encrypted streams over a connection, after its handshake: the bytes written are cut into frames of at most
 * {@link #FRAME_BYTES} (and at each flush), each sealed by a {@link FrameCipher} and sent as its length and its
 * ciphertext; the reading side opens them in order. The exchange's own protocol (round numbers, messages) runs
 * unchanged on top.
 */
final class SecureChannel {
    /** The most plaintext in one frame, so a frame's buffers stay small whatever a message's size. */
    static final int FRAME_BYTES = 1 << 16;

    private SecureChannel() {}

    /** Seals what is written into frames on {@code raw}; each flush ends a frame and flushes {@code raw}. */
    static OutputStream output(OutputStream raw, FrameCipher cipher) {
        return new Sealing(raw, cipher);
    }

    /** Opens the frames read from {@code raw}; RefusedFrameException for a frame that is too long or fails to open. */
    static InputStream input(InputStream raw, FrameCipher cipher) {
        return new Opening(raw, cipher);
    }

    private static final class Sealing extends FilterOutputStream {
        private final FrameCipher cipher;
        private final byte[] buffer = new byte[FRAME_BYTES];
        private int filled;

        Sealing(OutputStream raw, FrameCipher cipher) {
            super(raw);
            this.cipher = cipher;
        }

        @Override
        public void write(int b) throws IOException {
            if (filled == buffer.length) {
                seal();
            }
            buffer[filled++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (filled == buffer.length) {
                    seal();
                }
                int n = Math.min(len, buffer.length - filled);
                System.arraycopy(b, off, buffer, filled, n);
                filled += n;
                off += n;
                len -= n;
            }
        }

        @Override
        public void flush() throws IOException {
            seal();
            out.flush();
        }

        private void seal() throws IOException {
            if (filled == 0) {
                return;
            }
            byte[] header = ByteBuffer.allocate(4)
                    .putInt(filled + FrameCipher.TAG_BYTES)
                    .array();
            out.write(header);
            out.write(cipher.seal(header, buffer, 0, filled));
            filled = 0;
        }
    }

    private static final class Opening extends InputStream {
        private final DataInputStream raw;
        private final FrameCipher cipher;
        private byte[] frame = new byte[0];
        private int position;

        Opening(InputStream raw, FrameCipher cipher) {
            this.raw = new DataInputStream(raw);
            this.cipher = cipher;
        }

        @Override
        public int read() throws IOException {
            if (!fill()) {
                return -1;
            }
            return frame[position++] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, frame.length - position);
            System.arraycopy(frame, position, b, off, n);
            position += n;
            return n;
        }

        /** Plaintext already opened; the raw stream's bytes are no plaintext yet. */
        @Override
        public int available() {
            return frame.length - position;
        }

        /** False at the end of the stream between frames; EOFException within one. */
        private boolean fill() throws IOException {
            while (position == frame.length) {
                int first = raw.read();
                if (first < 0) {
                    return false;
                }
                byte[] header = new byte[4];
                header[0] = (byte) first;
                raw.readFully(header, 1, 3);
                int length = ByteBuffer.wrap(header).getInt();
                // checked before anything is allocated: a length prefix from a confused or hostile peer is no frame
                if (length <= FrameCipher.TAG_BYTES || length > FRAME_BYTES + FrameCipher.TAG_BYTES) {
                    throw new RefusedFrameException("an encrypted frame of " + length + " bytes, outside (16, "
                            + (FRAME_BYTES + FrameCipher.TAG_BYTES) + "]");
                }
                byte[] sealed = new byte[length];
                try {
                    raw.readFully(sealed);
                } catch (EOFException e) {
                    throw new EOFException("the connection ended within an encrypted frame");
                }
                frame = cipher.open(header, sealed);
                position = 0;
            }
            return true;
        }

        @Override
        public void close() throws IOException {
            raw.close();
        }
    }
}
