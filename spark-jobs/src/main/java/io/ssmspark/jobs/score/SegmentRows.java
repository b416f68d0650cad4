package io.ssmspark.jobs.score;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * What one segment hands to the later segments of its sequence for one layer: its ordinal and up to two blocks
 * (conv rows; keys and values; or the summary α and E); and, from the driver back ({@link WaveFold}, ordinal
 * {@link #NO_SEGMENT}), what a segment reads: its halo, or its initial state. Travels as the bytes of an exchange
 * round ({@link #encode()}, {@link #decode(byte[])}); {@link #NONE} is the message of a task that has no segment
 * in the wave, and the answer with nothing to read.
 */
public final class SegmentRows implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The ordinal of "no segment". */
    public static final int NO_SEGMENT = -1;

    public static final SegmentRows NONE = new SegmentRows(NO_SEGMENT, null, null);

    public int ordinal;
    public Matrix first;
    public Matrix second;

    public SegmentRows() {}

    public SegmentRows(int ordinal, Matrix first, Matrix second) {
        this.ordinal = ordinal;
        this.first = first;
        this.second = second;
    }

    long bytes() {
        return (first == null ? 0 : first.bytes()) + (second == null ? 0 : second.bytes());
    }

    /** This message as bytes: ordinal, then each block as (kind, rows, cols, values), big-endian. */
    public byte[] encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 64, bytes() + 32));
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(ordinal);
            write(out, first);
            write(out, second);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** The message {@link #encode()} wrote. */
    public static SegmentRows decode(byte[] message) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(message))) {
            int ordinal = in.readInt();
            return new SegmentRows(ordinal, read(in), read(in));
        } catch (IOException | ArithmeticException e) {
            throw new IllegalStateException("segment exchange: a message could not be read: " + e.getMessage(), e);
        }
    }

    private static final byte ABSENT = 0;
    private static final byte FLOATS = 1;
    private static final byte DOUBLES = 2;

    /** A block (null: absent) as kind, rows, cols and values, big-endian; also the carries' codec ({@link CommitLog}). */
    static void write(DataOutputStream out, Matrix m) throws IOException {
        if (m == null) {
            out.writeByte(ABSENT);
            return;
        }
        out.writeByte(m.floats != null ? FLOATS : DOUBLES);
        out.writeInt(m.rows);
        out.writeInt(m.cols);
        ByteBuffer values = ByteBuffer.allocate((int) m.bytes());
        if (m.floats != null) {
            values.asFloatBuffer().put(m.floats);
        } else {
            values.asDoubleBuffer().put(m.doubles);
        }
        out.write(values.array());
    }

    /** The block {@link #write} wrote (null: absent). */
    static Matrix read(DataInputStream in) throws IOException {
        byte kind = in.readByte();
        if (kind == ABSENT) {
            return null;
        }
        Matrix m = new Matrix();
        m.rows = in.readInt();
        m.cols = in.readInt();
        int n = Math.multiplyExact(m.rows, m.cols);
        byte[] raw = new byte[Math.multiplyExact(n, kind == FLOATS ? 4 : 8)];
        in.readFully(raw);
        ByteBuffer values = ByteBuffer.wrap(raw);
        if (kind == FLOATS) {
            m.floats = new float[n];
            values.asFloatBuffer().get(m.floats);
        } else if (kind == DOUBLES) {
            m.doubles = new double[n];
            values.asDoubleBuffer().get(m.doubles);
        } else {
            throw new IOException("unknown block kind " + kind);
        }
        return m;
    }
}
