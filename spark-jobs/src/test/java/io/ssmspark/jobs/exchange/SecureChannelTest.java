package io.ssmspark.jobs.exchange;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The encrypted frames on their own: what is written is read back; altered, replayed or reordered frames are not. */
class SecureChannelTest {
    private static final byte[] KEY = new byte[32];

    static {
        Arrays.fill(KEY, (byte) 7);
    }

    /** Frames as written: a message longer than a frame, then two short ones (each flush ends a frame). */
    private static List<byte[]> frames(byte[] key, byte[]... messages) throws IOException {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        OutputStream out = SecureChannel.output(wire, new FrameCipher(key));
        for (byte[] m : messages) {
            out.write(m);
            out.flush();
        }
        List<byte[]> frames = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(wire.toByteArray());
        while (b.hasRemaining()) {
            int length = b.getInt(b.position());
            byte[] frame = new byte[4 + length];
            b.get(frame);
            frames.add(frame);
        }
        return frames;
    }

    private static InputStream opening(byte[] key, List<byte[]> frames) {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        frames.forEach(wire::writeBytes);
        return SecureChannel.input(new ByteArrayInputStream(wire.toByteArray()), new FrameCipher(key));
    }

    @Test
    void whatIsWrittenIsReadBackAndIsNotOnTheWire() throws IOException {
        byte[] big = new byte[SecureChannel.FRAME_BYTES * 2 + 5];
        new Random(1).nextBytes(big);
        byte[] text = "t0r0 halo rows".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        List<byte[]> frames = frames(KEY, big, text);
        assertEquals(4, frames.size(), "two full frames, the rest of the big message, the text");
        for (byte[] f : frames) {
            assertTrue(f.length <= 4 + SecureChannel.FRAME_BYTES + FrameCipher.TAG_BYTES);
        }
        String wire = new String(frames.get(3), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(!wire.contains("t0r0"), "the text is encrypted");
        DataInputStream in = new DataInputStream(opening(KEY, frames));
        byte[] got = new byte[big.length];
        in.readFully(got);
        assertArrayEquals(big, got);
        byte[] gotText = new byte[text.length];
        in.readFully(gotText);
        assertArrayEquals(text, gotText);
        assertEquals(-1, in.read());
    }

    @Test
    void alteredReplayedReorderedOrForeignFramesFailToOpen() throws IOException {
        List<byte[]> frames = frames(KEY, new byte[] {1, 2, 3}, new byte[] {4, 5, 6});
        List<byte[]> altered = new ArrayList<>(frames);
        altered.set(0, frames.get(0).clone());
        altered.get(0)[6] ^= 1;
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        for (List<byte[]> wrong : List.of(
                altered,
                List.of(frames.get(1), frames.get(0)), // reordered
                List.of(frames.get(0), frames.get(0)))) { // replayed
            InputStream in = opening(KEY, wrong);
            byte[] b = new byte[6];
            RefusedFrameException e =
                    assertThrows(RefusedFrameException.class, () -> new DataInputStream(in).readFully(b));
            assertEquals("an encrypted frame failed authentication (altered, replayed or reordered)", e.getMessage());
        }
        assertThrows(
                RefusedFrameException.class, () -> opening(otherKey, frames).read());
    }

    /** A frame's length prefix is checked before anything is allocated for it. */
    @Test
    void anOversizedFrameLengthIsRefusedUnread() {
        byte[] prefix = ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE).array();
        InputStream in = SecureChannel.input(new ByteArrayInputStream(prefix), new FrameCipher(KEY));
        RefusedFrameException e = assertThrows(RefusedFrameException.class, in::read);
        assertEquals("an encrypted frame of 2147483647 bytes, outside (16, 65552]", e.getMessage());
    }

    @Test
    void aMessageLengthBeyondTheBoundIsRefusedUnread() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new DataOutputStream(bytes).writeInt(Integer.MAX_VALUE);
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()));
        RefusedFrameException e = assertThrows(
                RefusedFrameException.class, () -> Frames.read(in, Frames.MAX_MESSAGE_BYTES, "task 2's message"));
        assertEquals(
                "task 2's message claims 2147483647 bytes, outside the exchange's bound [0, 1073741824]",
                e.getMessage());
    }
}
