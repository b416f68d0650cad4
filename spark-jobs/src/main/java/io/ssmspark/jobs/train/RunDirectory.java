package io.ssmspark.jobs.train;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards a run's --out before anything is written: a new run refuses a directory that already holds a run (its
 * files would be replaced while the old checkpoints stayed beside them), unless --resume continues that run there or
 * --overwrite removes it first. Other files in --out (such as the model config) are left alone.
 */
final class RunDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(RunDirectory.class);
    /** What a run writes into --out. */
    static final List<String> RUN_ENTRIES =
            List.of(Trainer.FINAL_DIR, Trainer.CHECKPOINTS_DIR, MetricsLog.FILE, Trainer.SUMMARY_FILE, LossChart.FILE);

    private RunDirectory() {}

    /** Refuses, keeps or clears --out as described above; {@code config} is the run's complete config. */
    static void prepare(RunFiles files, TrainConfig config) throws IOException {
        String out = config.out;
        if (files.exists(out) && !files.isDirectory(out)) {
            throw new IllegalArgumentException(
                    "--out " + out + " is a file; expected a directory for the run's outputs");
        }
        List<String> found = new ArrayList<>();
        for (String entry : RUN_ENTRIES) {
            if (files.exists(RunFiles.child(out, entry))) {
                found.add(entry);
            }
        }
        if (found.isEmpty()) {
            return;
        }
        boolean overwrite = Boolean.TRUE.equals(config.overwrite);
        if (!overwrite && config.resume != null) {
            return; // the resumed run continues in --out
        }
        String contents = describe(files, out, found);
        if (!overwrite) {
            throw new FileAlreadyExistsException(
                    out,
                    null,
                    "already holds a run (" + contents + "); pass --overwrite to"
                            + " remove it and start afresh, or --resume " + latestCheckpoint(files, out)
                            + " to continue it");
        }
        if (config.resume != null && files.qualified(config.resume).startsWith(files.qualified(out) + "/")) {
            throw new IllegalArgumentException("--overwrite would remove --resume " + config.resume + ", which lies in"
                    + " --out " + out + ": leave out --overwrite to continue the run there, or give another --out");
        }
        for (String entry : found) {
            files.delete(RunFiles.child(out, entry));
        }
        LOG.info("--overwrite: removed the earlier run in {} ({})", out, contents);
    }

    /** "final/, checkpoints/ (2), metrics.jsonl, ...": directories with a slash, with the checkpoint count. */
    private static String describe(RunFiles files, String out, List<String> found) throws IOException {
        List<String> parts = new ArrayList<>();
        for (String entry : found) {
            String path = RunFiles.child(out, entry);
            if (!files.isDirectory(path)) {
                parts.add(entry);
            } else if (entry.equals(Trainer.CHECKPOINTS_DIR)) {
                parts.add(entry + "/ (" + files.list(path).size() + ")");
            } else {
                parts.add(entry + "/");
            }
        }
        return String.join(", ", parts);
    }

    /** The checkpoint a resume would start from: the last step-* one, else final/ (with a larger --steps). */
    private static String latestCheckpoint(RunFiles files, String out) throws IOException {
        String checkpoints = RunFiles.child(out, Trainer.CHECKPOINTS_DIR);
        if (files.isDirectory(checkpoints)) {
            List<String> steps = files.list(checkpoints).stream()
                    .filter(n -> n.startsWith("step-"))
                    .toList();
            if (!steps.isEmpty()) {
                return RunFiles.child(checkpoints, steps.get(steps.size() - 1));
            }
        }
        String finalDir = RunFiles.child(out, Trainer.FINAL_DIR);
        return files.isDirectory(finalDir) ? finalDir + " with a larger --steps" : "CHECKPOINT";
    }
}
