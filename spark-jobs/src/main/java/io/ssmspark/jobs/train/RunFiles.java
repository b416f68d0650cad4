package io.ssmspark.jobs.train;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The run's files on any Hadoop FileSystem (local paths, hdfs://, s3a://...). Every write is atomic: the content
 * goes to a hidden temporary sibling first and is then renamed into place, so a reader never sees half a file or
 * half a checkpoint directory.
 */
final class RunFiles {
    private final Configuration conf;

    RunFiles(Configuration conf) {
        this.conf = conf;
    }

    private FileSystem fs(Path path) throws IOException {
        FileSystem fs = path.getFileSystem(conf);
        fs.setWriteChecksum(false);
        fs.setVerifyChecksum(false);
        return fs;
    }

    boolean exists(String path) throws IOException {
        Path p = new Path(path);
        return fs(p).exists(p);
    }

    boolean isDirectory(String path) throws IOException {
        Path p = new Path(path);
        FileSystem fs = fs(p);
        return fs.exists(p) && fs.getFileStatus(p).isDirectory();
    }

    /** {@code path} made absolute, with its file system's scheme (to compare paths). */
    String qualified(String path) throws IOException {
        Path p = new Path(path);
        return fs(p).makeQualified(p).toString();
    }

    /** The names in directory {@code dir}, sorted. */
    List<String> list(String dir) throws IOException {
        Path d = new Path(dir);
        List<String> names = new ArrayList<>();
        for (FileStatus status : fs(d).listStatus(d)) {
            names.add(status.getPath().getName());
        }
        Collections.sort(names);
        return names;
    }

    /** Removes a file, or a directory with everything in it. */
    void delete(String path) throws IOException {
        Path p = new Path(path);
        if (!fs(p).delete(p, true)) {
            throw new IOException(path + ": could not remove it");
        }
    }

    /** Writes {@code bytes} to {@code target}, replacing it, through a temporary sibling and a rename. */
    void writeAtomically(String target, byte[] bytes) throws IOException {
        Path t = new Path(target);
        FileSystem fs = fs(t);
        Path tmp = temporarySibling(t);
        try (OutputStream out = fs.create(tmp, true)) {
            out.write(bytes);
        }
        replace(fs, tmp, t);
    }

    /** Copies a local file to {@code target} atomically. */
    void publishFile(java.nio.file.Path local, String target) throws IOException {
        writeAtomically(target, Files.readAllBytes(local));
    }

    /** Copies a local directory to {@code target}: to a temporary sibling first, then one rename. */
    void publishDirectory(java.nio.file.Path localDir, String target) throws IOException {
        Path t = new Path(target);
        FileSystem fs = fs(t);
        Path tmp = temporarySibling(t);
        fs.mkdirs(tmp);
        try (var files = Files.list(localDir)) {
            for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files.sorted()::iterator) {
                try (OutputStream out = fs.create(new Path(tmp, f.getFileName().toString()), true)) {
                    Files.copy(f, out);
                }
            }
        }
        replace(fs, tmp, t);
    }

    /** Copies a directory of plain files from any FS into a new local temporary directory. */
    java.nio.file.Path fetchDirectory(String source) throws IOException {
        Path s = new Path(source);
        FileSystem fs = fs(s);
        if (!fs.getFileStatus(s).isDirectory()) {
            throw new FileNotFoundException(source + ": expected a checkpoint directory, found a file");
        }
        java.nio.file.Path local = Files.createTempDirectory("ssm-checkpoint-");
        for (var status : fs.listStatus(s)) {
            if (status.isFile()) {
                try (InputStream in = fs.open(status.getPath())) {
                    Files.copy(in, local.resolve(status.getPath().getName()));
                }
            }
        }
        return local;
    }

    String readString(String path) throws IOException {
        Path p = new Path(path);
        try (InputStream in = fs(p).open(p)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (FileNotFoundException e) {
            throw new FileNotFoundException(path + ": not found");
        }
    }

    static String child(String dir, String name) {
        return new Path(new Path(dir), name).toString();
    }

    private static Path temporarySibling(Path target) {
        return new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
    }

    private static void replace(FileSystem fs, Path tmp, Path target) throws IOException {
        try {
            if (fs.exists(target) && !fs.delete(target, true)) {
                throw new IOException(
                        target + ": could not remove the old version before renaming " + tmp + " into place");
            }
            if (!fs.rename(tmp, target)) {
                throw new IOException(target + ": could not rename " + tmp + " into place");
            }
        } finally {
            if (fs.exists(tmp)) {
                fs.delete(tmp, true);
            }
        }
    }
}
