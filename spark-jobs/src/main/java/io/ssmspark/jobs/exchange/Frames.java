package io.ssmspark.jobs.exchange;

import java.io.DataInputStream;
import java.io.IOException;

/** The exchange's length-prefixed messages, read with a bound checked before anything is allocated. */
final class Frames {
    /**
     * The most bytes one message may have: far more than a round's summaries or halo rows of one segment, far less
     * than a heap.
     */
    static final int MAX_MESSAGE_BYTES = 1 << 30;

    private Frames() {}

    /** An int length, then that many bytes; RefusedFrameException for a length outside [0, bound]. */
    static byte[] read(DataInputStream in, int bound, String what) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > bound) {
            throw new RefusedFrameException(
                    what + " claims " + length + " bytes, outside the exchange's bound [0, " + bound + "]");
        }
        byte[] message = new byte[length];
        in.readFully(message);
        return message;
    }
}
