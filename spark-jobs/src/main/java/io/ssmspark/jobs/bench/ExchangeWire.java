package io.ssmspark.jobs.bench;

/**
 * The exchange's bytes per message, as {@code SegmentRows.encode} and {@code ExchangeClient} lay them out: a message
 * is an int ordinal and two blocks, each a kind byte, then (when present) int rows, int cols and the values. A task
 * sends its round number, the length and the message; an answer is the message count, then each message with its
 * length.
 */
final class ExchangeWire {
    /** The ordinal, and the kind byte of each of the two blocks. */
    static final long MESSAGE_HEADER_BYTES = 4 + 2;
    /** rows and cols of a present block. */
    static final long BLOCK_HEADER_BYTES = 8;
    /** Round number and length ahead of a task's message. */
    static final long UP_FRAME_BYTES = 8;
    /** The length ahead of each message of an answer. */
    static final long DOWN_FRAME_BYTES = 4;
    /** The message count ahead of an answer. */
    static final long ANSWER_HEADER_BYTES = 4;

    private ExchangeWire() {}

    /** An encoded message of {@code blocks} present blocks holding {@code valueBytes} bytes of values. */
    static long message(int blocks, long valueBytes) {
        return MESSAGE_HEADER_BYTES + blocks * BLOCK_HEADER_BYTES + valueBytes;
    }

    /** What one task sends the hub in a round. */
    static long up(long message) {
        return UP_FRAME_BYTES + message;
    }

    /** An answer of {@code messages} messages of {@code message} bytes each. */
    static long answer(long messages, long message) {
        return ANSWER_HEADER_BYTES + messages * (DOWN_FRAME_BYTES + message);
    }
}
