package io.ssmspark.jobs.score;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The files in which scoring tasks keep their scored segments until the output is written: one per task and commit
 * group, {@code parts/group-G/task-T.bin} under the run's progress directory ({@link CommitLog}). A task writes
 * under a temporary name and renames the file when the group ends; the driver's commit record names it with its
 * length, so a file that a killed run left half-written is never read. Records, big-endian: a magic int and a
 * version, then per segment its ordinal, sequence id, start, positions n, n targets, n NLLs, the embedding width and
 * n·width floats, k and n·k top ids; an ordinal of −1 ends the file.
 */
public final class ScoredParts {
    private static final int MAGIC = 0x53534d53; // "SSMS"
    private static final int VERSION = 1;
    private static final int END = -1;

    private ScoredParts() {}

    static Path file(Path dir, int group, int task) {
        return new Path(dir, String.format("parts/group-%06d/task-%05d.bin", group, task));
    }

    /**
     * A committed file: where it is (relative to the progress directory) and its length. A plain class, not a
     * record: Kryo 4's field serializers cannot write records, and the files are spread over Spark tasks.
     */
    public static final class Part implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        public String file;
        public long length;

        public Part() {}

        Part(String file, long length) {
            this.file = file;
            this.length = length;
        }

        String file() {
            return file;
        }

        long length() {
            return length;
        }
    }

    /** One task's file of one commit group, open for its scored segments. */
    static final class Writer implements AutoCloseable {
        private final FileSystem fs;
        private final Path temporary;
        private final Path committed;
        private final String relative;
        private final DataOutputStream out;
        private final List<long[]> briefs = new ArrayList<>();

        Writer(FileSystem fs, Path dir, int group, int task, int attempt) {
            this.fs = fs;
            this.committed = file(dir, group, task);
            this.relative = String.format("parts/group-%06d/task-%05d.bin", group, task);
            this.temporary = new Path(committed.getParent(), "_attempt-" + attempt + "-task-" + task + ".tmp");
            try {
                out = new DataOutputStream(new BufferedOutputStream(fs.create(temporary, true), 1 << 16));
                out.writeInt(MAGIC);
                out.writeInt(VERSION);
            } catch (IOException e) {
                throw new UncheckedIOException("score progress: cannot write " + temporary + ": " + e.getMessage(), e);
            }
        }

        void append(ScoredSegment s) {
            try {
                out.writeInt(s.ordinal);
                byte[] id = s.sequenceId.getBytes(StandardCharsets.UTF_8);
                out.writeInt(id.length);
                out.write(id);
                out.writeLong(s.start);
                int n = s.nll.length;
                out.writeInt(n);
                for (int i = 0; i < n; i++) {
                    out.writeInt(s.targets[i]);
                }
                for (int i = 0; i < n; i++) {
                    out.writeDouble(s.nll[i]);
                }
                out.writeInt(s.embeddingDim);
                for (int i = 0; s.embeddingDim > 0 && i < n * s.embeddingDim; i++) {
                    out.writeFloat(s.embeddings[i]);
                }
                out.writeInt(s.topK);
                for (int i = 0; s.topK > 0 && i < n * s.topK; i++) {
                    out.writeInt(s.topIds[i]);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("score progress: cannot write " + temporary + ": " + e.getMessage(), e);
            }
            briefs.add(new long[] {s.ordinal, s.nll.length, Double.doubleToLongBits(s.nllSum())});
        }

        /** The (ordinal, positions, NLL-sum bits) of each segment appended. */
        List<long[]> briefs() {
            return briefs;
        }

        /** Ends the file and gives it its committed name (replacing what an earlier attempt left there). */
        Part commit() {
            try {
                out.writeInt(END);
                out.close();
                if (fs.exists(committed)) {
                    fs.delete(committed, false);
                }
                if (!fs.rename(temporary, committed)) {
                    throw new IOException("rename to " + committed + " failed");
                }
                return new Part(relative, fs.getFileStatus(committed).getLen());
            } catch (IOException e) {
                throw new UncheckedIOException("score progress: cannot commit " + temporary + ": " + e.getMessage(), e);
            }
        }

        /** Drops the temporary file of a task that fails. */
        @Override
        public void close() {
            try {
                out.close();
                fs.delete(temporary, false);
            } catch (IOException e) {
                // the next attempt writes its own file, and a commit never names this one
            }
        }
    }

    /** Writes segment briefs (ordinal, tokens, bits of the NLL sum), counted, as commit messages and records hold them. */
    static void writeBriefs(DataOutputStream out, List<long[]> briefs) throws IOException {
        out.writeInt(briefs.size());
        for (long[] b : briefs) {
            out.writeLong(b[0]);
            out.writeLong(b[1]);
            out.writeLong(b[2]);
        }
    }

    /** Reads what {@link #writeBriefs} wrote. */
    static List<long[]> readBriefs(DataInputStream in) throws IOException {
        int n = in.readInt();
        List<long[]> briefs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            briefs.add(new long[] {in.readLong(), in.readLong(), in.readLong()});
        }
        return briefs;
    }

    /** What a task hands in at a commit round: the group, its file (null: it scored nothing in the group), briefs. */
    record HandedIn(int group, Part part, List<long[]> briefs) {
        byte[] encode() {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeInt(group);
                out.writeBoolean(part != null);
                if (part != null) {
                    out.writeUTF(part.file());
                    out.writeLong(part.length());
                }
                writeBriefs(out, briefs);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }

        static HandedIn decode(byte[] message) {
            try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(message))) {
                int group = in.readInt();
                Part part = in.readBoolean() ? new Part(in.readUTF(), in.readLong()) : null;
                return new HandedIn(group, part, readBriefs(in));
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("segment exchange: a commit message could not be read: " + e, e);
            }
        }
    }

    /** The scored segments of a committed file, checked against the length its commit recorded. */
    static List<ScoredSegment> read(FileSystem fs, Path file, long length) {
        try {
            long actual = fs.getFileStatus(file).getLen();
            if (actual != length) {
                throw new IOException("holds " + actual + " bytes but its commit recorded " + length);
            }
            List<ScoredSegment> out = new ArrayList<>();
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(fs.open(file), 1 << 16))) {
                if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                    throw new IOException("is not a scored-segment file of this version");
                }
                for (int ordinal = in.readInt(); ordinal != END; ordinal = in.readInt()) {
                    out.add(readSegment(in, ordinal));
                }
            }
            return out;
        } catch (EOFException e) {
            throw new IllegalStateException("score progress: " + file + " ends early", e);
        } catch (IOException | NegativeArraySizeException e) {
            throw new IllegalStateException("score progress: " + file + ": " + e.getMessage(), e);
        }
    }

    private static ScoredSegment readSegment(DataInputStream in, int ordinal) throws IOException {
        ScoredSegment s = new ScoredSegment();
        s.ordinal = ordinal;
        byte[] id = new byte[in.readInt()];
        in.readFully(id);
        s.sequenceId = new String(id, StandardCharsets.UTF_8);
        s.start = in.readLong();
        int n = in.readInt();
        s.targets = new int[n];
        for (int i = 0; i < n; i++) {
            s.targets[i] = in.readInt();
        }
        s.nll = new double[n];
        for (int i = 0; i < n; i++) {
            s.nll[i] = in.readDouble();
        }
        s.embeddingDim = in.readInt();
        if (s.embeddingDim > 0) {
            s.embeddings = new float[Math.multiplyExact(n, s.embeddingDim)];
            for (int i = 0; i < s.embeddings.length; i++) {
                s.embeddings[i] = in.readFloat();
            }
        } else {
            s.embeddings = null;
        }
        s.topK = in.readInt();
        if (s.topK > 0) {
            s.topIds = new int[Math.multiplyExact(n, s.topK)];
            for (int i = 0; i < s.topIds.length; i++) {
                s.topIds[i] = in.readInt();
            }
        }
        return s;
    }
}
