package io.ssmspark.data.source;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * Expands a path, directory or glob (any Hadoop URI) into the sorted list of files it names.
 * Directories are listed recursively; names starting with '.' or '_' (Hadoop's hidden and marker
 * files such as _SUCCESS) are left out.
 */
public final class FileListing {
    private FileListing() {}

    /**
     * The {@value io.ssmspark.data.Vocabulary#FILE_NAME} stored beside the data {@code spec} names: in
     * the directory itself, or in the parent of a file or glob; null when there is none.
     */
    public static Path vocabularyBeside(String spec, Configuration conf) throws IOException {
        Path p = new Path(spec);
        FileSystem fs = p.getFileSystem(conf);
        Path dir = fs.exists(p) && fs.getFileStatus(p).isDirectory() ? p : p.getParent();
        if (dir == null || dir.toString().matches(".*[*?\\[\\]{}].*")) {
            return null;
        }
        Path file = new Path(dir, io.ssmspark.data.Vocabulary.FILE_NAME);
        return fs.exists(file) ? file : null;
    }

    public static List<FileStatus> list(String spec, Configuration conf) throws IOException {
        Path pattern = new Path(spec);
        FileSystem fs = pattern.getFileSystem(conf);
        FileStatus[] matches = fs.globStatus(pattern);
        if (matches == null || matches.length == 0) {
            throw new FileNotFoundException(spec + ": no such file or directory (nothing matches this path or glob)");
        }
        TreeMap<String, FileStatus> files = new TreeMap<>();
        for (FileStatus m : matches) {
            if (m.isDirectory()) {
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    if (f.isFile() && !isHidden(m.getPath(), f.getPath())) {
                        files.put(f.getPath().toString(), f);
                    }
                }
            } else if (!isHidden(m.getPath().getParent(), m.getPath()) || matches.length == 1) {
                files.put(m.getPath().toString(), m);
            }
        }
        if (files.isEmpty()) {
            throw new FileNotFoundException(spec + ": matches only empty directories or hidden files");
        }
        if (files.size() > Ordinals.MAX_FILES) {
            throw new IllegalArgumentException(
                    spec + ": matches " + files.size() + " files; at most " + Ordinals.MAX_FILES + " are supported");
        }
        return new ArrayList<>(files.values());
    }

    /**
     * Whether any path component below {@code root} starts with '.' or '_', or the file is the
     * vocabulary file stored beside the data.
     */
    private static boolean isHidden(Path root, Path file) {
        if (file.getName().equals(io.ssmspark.data.Vocabulary.FILE_NAME)) {
            return true;
        }
        for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
            String name = p.getName();
            if (name.startsWith(".") || name.startsWith("_")) {
                return true;
            }
        }
        return false;
    }
}
