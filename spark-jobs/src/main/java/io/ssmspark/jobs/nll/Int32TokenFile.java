package io.ssmspark.jobs.nll;

import io.ssmspark.model.lm.SequenceScorer;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file of raw little-endian int32 token ids, read window by window (bounded memory). {@link #open} checks the
 * whole file first (non-empty, a whole number of int32s, every id in [0, vocab_size)), so scoring never starts on
 * a file it would have to give up half way.
 */
public final class Int32TokenFile implements SequenceScorer.TokenSource, Closeable {
    private static final int SCAN_BYTES = 1 << 20;

    private final Path file;
    private final FileChannel channel;
    private final long tokens;

    private Int32TokenFile(Path file, FileChannel channel, long tokens) {
        this.file = file;
        this.channel = channel;
        this.tokens = tokens;
    }

    /** Opens and validates {@code file} against a vocabulary of {@code vocabSize} ids. */
    public static Int32TokenFile open(Path file, int vocabSize) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "token file not found");
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = channel.size();
            if (size == 0) {
                throw new TokenFileException(file + ": token file is empty (expected little-endian int32 token ids)");
            }
            if (size % 4 != 0) {
                throw new TokenFileException(
                        file + ": size " + size + " bytes is not a multiple of 4 (little-endian int32"
                                + " token ids): the last " + (size % 4) + " bytes are a truncated token");
            }
            scanIds(file, channel, size, vocabSize);
            return new Int32TokenFile(file, channel, size / 4);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static void scanIds(Path file, FileChannel channel, long size, int vocabSize) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(SCAN_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long offset = 0;
        while (offset < size) {
            buf.clear();
            buf.limit((int) Math.min(SCAN_BYTES, size - offset));
            readFully(channel, buf, offset);
            buf.flip();
            for (int i = 0; buf.remaining() >= 4; i += 4) {
                int id = buf.getInt();
                if (id < 0 || id >= vocabSize) {
                    long at = offset + i;
                    throw new TokenFileException(file + ": token id " + id + " at byte offset " + at + " (token "
                            + at / 4 + ") is outside the model's vocabulary [0, vocab_size = " + vocabSize + ")");
                }
            }
            offset += buf.limit();
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, at);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte offset " + at);
            }
            at += n;
        }
    }

    @Override
    public long length() {
        return tokens;
    }

    @Override
    public int[] read(long start, int count) throws IOException {
        if (start < 0 || count < 0 || start + count > tokens) {
            throw new IllegalArgumentException(file + ": tokens [" + start + ", " + (start + count)
                    + ") are outside the file's " + tokens + " tokens");
        }
        ByteBuffer buf = ByteBuffer.allocate(count * 4).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, buf, start * 4);
        buf.flip();
        int[] out = new int[count];
        buf.asIntBuffer().get(out);
        return out;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
