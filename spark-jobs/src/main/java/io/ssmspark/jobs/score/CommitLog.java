package io.ssmspark.jobs.score;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A scoring run's durable progress, in its progress directory (for {@code score}, OUTPUT/_scoring): a manifest of
 * what the run is (the model, the segments and their tokens, the tasks, the commit groups: whatever changes a
 * score), the tasks' files of scored segments ({@link ScoredParts}), and one commit record per commit group done.
 * The driver writes a group's record once every task has handed in its file ({@link WaveFold}, at the group's commit
 * round): the files with their lengths, each segment's positions and NLL sum, and the carry of every sequence that
 * goes on into the next group (its halo rows and states, {@link SequenceCarry}). Records are written under a
 * temporary name and renamed, so a record is whole or absent. A retried stage attempt, or a run resumed after the
 * driver was lost, starts from the wave after the last record, with its carries; the output is then assembled from
 * the files every record names.
 */
final class CommitLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAGIC = 0x53534d43; // "SSMC"
    private static final int VERSION = 1;

    private final FileSystem fs;
    private final Path dir;
    private final int layers;
    private final List<ScoredParts.Part> parts = new ArrayList<>();
    private final List<long[]> briefs = new ArrayList<>();
    private int commits;
    private int nextWave;
    private Map<Integer, SequenceCarry> carries = Map.of();

    private CommitLog(FileSystem fs, Path dir, int layers) {
        this.fs = fs;
        this.dir = dir;
        this.layers = layers;
    }

    /**
     * The progress of a run that {@code identity} describes, in {@code dir}: a fresh run when the directory holds no
     * manifest (it is created, with one), else, when {@code resume}, the run the manifest describes, which must be
     * this one (IllegalArgumentException naming the first setting that differs). A manifest without {@code resume}
     * is refused.
     */
    static CommitLog open(FileSystem fs, Path dir, Map<String, String> identity, int layers, boolean resume) {
        CommitLog log = new CommitLog(fs, dir, layers);
        Path manifest = new Path(dir, "manifest.json");
        try {
            if (!fs.exists(manifest)) {
                fs.mkdirs(dir);
                log.writeAtomically(
                        manifest,
                        out -> out.write(JSON.writerWithDefaultPrettyPrinter()
                                .writeValueAsBytes(new LinkedHashMap<>(identity))));
                return log;
            }
            if (!resume) {
                throw new IllegalArgumentException("score progress: " + dir
                        + " holds a run already (its manifest.json);" + " resume it with --resume, or remove it");
            }
            Map<String, String> started;
            try (var in = fs.open(manifest)) {
                started = JSON.readValue(in, new TypeReference<LinkedHashMap<String, String>>() {});
            }
            for (Map.Entry<String, String> e : identity.entrySet()) {
                String was = started.get(e.getKey());
                if (!e.getValue().equals(was)) {
                    throw new IllegalArgumentException("--resume: " + dir.getParent() + " was started with "
                            + e.getKey() + " " + was + ", but this run has " + e.getValue()
                            + "; resume with the run's own settings, model and input");
                }
            }
            log.load();
            return log;
        } catch (IOException e) {
            throw new UncheckedIOException("score progress: cannot open " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The first wave no commit covers: where a stage attempt starts. */
    synchronized int nextWave() {
        return nextWave;
    }

    /** The commit records so far. */
    synchronized int commits() {
        return commits;
    }

    /** Copies of the carries of the sequences that go on past the last commit, by sequence index. */
    synchronized Map<Integer, SequenceCarry> carries() {
        Map<Integer, SequenceCarry> copy = new HashMap<>();
        carries.forEach((s, c) -> copy.put(s, c.copy()));
        return copy;
    }

    /** Every committed file of scored segments, in commit order. */
    synchronized List<ScoredParts.Part> parts() {
        return List.copyOf(parts);
    }

    /** (ordinal, positions, NLL-sum bits) of every committed segment. */
    synchronized List<long[]> briefs() {
        return List.copyOf(briefs);
    }

    FileSystem fs() {
        return fs;
    }

    Path dir() {
        return dir;
    }

    /**
     * Records commit group {@code group}: its files and segments, and the carries after it, which make
     * {@code nextWave} the start of the next attempt. Whole or not at all on disk.
     */
    synchronized void commit(
            int group,
            int nextWave,
            Map<Integer, SequenceCarry> carriesAfter,
            List<ScoredParts.Part> groupParts,
            List<long[]> groupBriefs) {
        if (group != commits) {
            throw new IllegalStateException(
                    "score progress: commit group " + group + " arrived while " + commits + " groups are committed");
        }
        Map<Integer, SequenceCarry> snapshot = new HashMap<>();
        carriesAfter.forEach((s, c) -> snapshot.put(s, c.copy()));
        try {
            writeAtomically(record(group), out -> {
                DataOutputStream d = new DataOutputStream(out);
                d.writeInt(MAGIC);
                d.writeInt(VERSION);
                d.writeInt(group);
                d.writeInt(nextWave);
                d.writeInt(groupParts.size());
                for (ScoredParts.Part p : groupParts) {
                    d.writeUTF(p.file());
                    d.writeLong(p.length());
                }
                ScoredParts.writeBriefs(d, groupBriefs);
                d.writeInt(snapshot.size());
                for (Map.Entry<Integer, SequenceCarry> e : snapshot.entrySet()) {
                    d.writeInt(e.getKey());
                    e.getValue().write(d);
                }
                d.flush();
            });
        } catch (IOException e) {
            throw new UncheckedIOException("score progress: cannot write " + record(group) + ": " + e.getMessage(), e);
        }
        parts.addAll(groupParts);
        briefs.addAll(groupBriefs);
        carries = snapshot;
        this.nextWave = nextWave;
        commits++;
    }

    /** Removes the progress directory (once the output is written). */
    void delete() {
        try {
            fs.delete(dir, true);
        } catch (IOException e) {
            throw new UncheckedIOException("score progress: cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Reads every commit record (they must run 0, 1, 2, ... without a gap) and drops files no record names. */
    private void load() throws IOException {
        Path commitsDir = new Path(dir, "commits");
        List<String> names = new ArrayList<>();
        if (fs.exists(commitsDir)) {
            for (FileStatus f : fs.listStatus(commitsDir)) {
                String name = f.getPath().getName();
                if (name.startsWith("commit-") && name.endsWith(".bin")) {
                    names.add(name);
                }
            }
        }
        Collections.sort(names);
        for (int g = 0; g < names.size(); g++) {
            Path file = record(g);
            if (!names.get(g).equals(file.getName())) {
                throw new IllegalStateException(
                        "score progress: " + commitsDir + " lacks " + file.getName() + " (found " + names.get(g) + ")");
            }
            readRecord(file, g);
        }
        dropUncommitted();
    }

    private void readRecord(Path file, int group) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(fs.open(file), 1 << 16))) {
            if (in.readInt() != MAGIC || in.readInt() != VERSION || in.readInt() != group) {
                throw new IOException("is not commit record " + group + " of this version");
            }
            nextWave = in.readInt();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                parts.add(new ScoredParts.Part(in.readUTF(), in.readLong()));
            }
            briefs.addAll(ScoredParts.readBriefs(in));
            n = in.readInt();
            Map<Integer, SequenceCarry> read = new HashMap<>();
            for (int i = 0; i < n; i++) {
                int sequence = in.readInt();
                read.put(sequence, SequenceCarry.read(in, layers));
            }
            carries = read;
            commits = group + 1;
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("score progress: " + file + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** Files of groups that no record names (a killed run's last, half-done group), and temporary files. */
    private void dropUncommitted() throws IOException {
        Path partsDir = new Path(dir, "parts");
        if (!fs.exists(partsDir)) {
            return;
        }
        for (FileStatus f : fs.listStatus(partsDir)) {
            String name = f.getPath().getName();
            if (!name.startsWith("group-") || Integer.parseInt(name.substring(6)) >= commits) {
                fs.delete(f.getPath(), true);
            }
        }
    }

    private Path record(int group) {
        return new Path(dir, String.format("commits/commit-%06d.bin", group));
    }

    @FunctionalInterface
    private interface Body {
        void write(OutputStream out) throws IOException;
    }

    /** Writes {@code file} under a temporary name beside it, then renames it: the file is whole or absent. */
    private void writeAtomically(Path file, Body body) throws IOException {
        Path temporary = new Path(file.getParent(), "_" + file.getName() + ".tmp");
        try (OutputStream out = new BufferedOutputStream(fs.create(temporary, true), 1 << 16)) {
            body.write(out);
        }
        if (fs.exists(file)) {
            fs.delete(file, false);
        }
        if (!fs.rename(temporary, file)) {
            throw new IOException("rename of " + temporary + " to " + file + " failed");
        }
    }
}
