package io.ssmspark.model.checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where each parameter of a config is stored in a checkpoint directory, found from the weight files' listings only
 * (safetensors headers, torch pickles; no tensor data), with everything that stops the load: a missing tensor, a
 * wrong shape, an element type ssm-spark does not read, a tensor name the model does not know, a tensor in two
 * files, a shard that disagrees with its index. The loader refuses the first of these; {@code inspect} lists them.
 */
final class WeightPlan {
    /** How weight files are opened; tests substitute one that records what is open. */
    @FunctionalInterface
    interface Opener {
        TensorFile open(Path file) throws IOException;
    }

    /** One stored tensor: its file, its name there, and what the file says of it. */
    record Source(Path file, String storedName, StoredTensor stored) {}

    /**
     * Where a stored tensor goes: the whole schema tensor ({@code rows} -1), or rows [rowOffset, rowOffset + rows)
     * of it, for a schema tensor the layout stores in parts (transformers' Bamba: q/k/v_proj, up/gate_proj).
     */
    record Placement(String schemaName, long rowOffset, long rows, Source source) {}

    private final CheckpointLayout layout;
    private final List<Placement> parameters;
    private final Source tiedHead;
    private final List<String> problems;
    private final Map<Path, List<StoredTensor>> listings;

    private WeightPlan(
            CheckpointLayout layout,
            List<Placement> parameters,
            Source tiedHead,
            List<String> problems,
            Map<Path, List<StoredTensor>> listings) {
        this.layout = layout;
        this.parameters = Collections.unmodifiableList(parameters);
        this.tiedHead = tiedHead;
        this.problems = Collections.unmodifiableList(problems);
        this.listings = Collections.unmodifiableMap(listings);
    }

    /** Opens each weight file once, one at a time, to list its tensors, and matches them to the schema. */
    static WeightPlan of(CheckpointLayout layout, CheckpointSchema schema, Opener opener) throws IOException {
        Map<Path, List<StoredTensor>> listings = new LinkedHashMap<>();
        for (Path file : layout.weightFiles()) {
            try (TensorFile f = opener.open(file)) {
                listings.put(file, f.tensors());
            }
        }
        List<String> problems = new ArrayList<>();
        checkAgainstIndex(layout, listings, problems);

        Map<String, Source> bySchemaName = new HashMap<>();
        List<Source> unknown = new ArrayList<>();
        for (Map.Entry<Path, List<StoredTensor>> e : listings.entrySet()) {
            for (StoredTensor t : e.getValue()) {
                Source s = new Source(e.getKey(), t.name(), t);
                String schemaName = layout.toSchemaName(t.name());
                Source seen = bySchemaName.putIfAbsent(schemaName, s);
                if (seen != null) {
                    problems.add(e.getKey() + ": tensor '" + t.name() + "' is also stored as '" + seen.storedName()
                            + "' in " + seen.file()
                            + (schemaName.equals(t.name()) ? "" : " (both are '" + schemaName + "')"));
                }
            }
        }
        List<Placement> parameters = new ArrayList<>();
        Set<String> knownKeys = new HashSet<>();
        for (TensorSpec t : schema.tensors()) {
            List<Long> parts = layout.partRows(t.name());
            if (parts == null) {
                knownKeys.add(t.name());
                Source s = bySchemaName.get(t.name());
                if (s == null) {
                    problems.add(layout.tensorsSource() + ": tensor '" + layout.toStoredName(t.name())
                            + "' (expected shape " + Arrays.toString(t.shape()) + ") is missing");
                    continue;
                }
                if (!t.hasShape(s.stored().shape())) {
                    problems.add(s.file() + ": tensor '" + s.storedName() + "' has shape "
                            + Arrays.toString(s.stored().shape()) + " but the config expects "
                            + Arrays.toString(t.shape()));
                } else if (!s.stored().readable()) {
                    problems.add(unreadable(s));
                }
                parameters.add(new Placement(t.name(), 0, -1, s));
                continue;
            }
            long offset = 0;
            for (int k = 0; k < parts.size(); k++) {
                String key = t.name() + "#" + k;
                knownKeys.add(key);
                long[] shape = t.shape().clone();
                shape[0] = parts.get(k);
                Source s = bySchemaName.get(key);
                if (s == null) {
                    problems.add(layout.tensorsSource() + ": tensor '" + layout.toStoredName(key) + "' (expected shape "
                            + Arrays.toString(shape) + ") is missing");
                } else if (!Arrays.equals(shape, s.stored().shape())) {
                    problems.add(s.file() + ": tensor '" + s.storedName() + "' has shape "
                            + Arrays.toString(s.stored().shape()) + " but the config expects "
                            + Arrays.toString(shape));
                } else if (!s.stored().readable()) {
                    problems.add(unreadable(s));
                } else {
                    parameters.add(new Placement(t.name(), offset, parts.get(k), s));
                }
                offset += parts.get(k);
            }
        }
        Source tiedHead = null;
        for (Map.Entry<Path, List<StoredTensor>> e : listings.entrySet()) {
            for (StoredTensor t : e.getValue()) {
                String schemaName = layout.toSchemaName(t.name());
                Source s = bySchemaName.get(schemaName);
                if (knownKeys.contains(schemaName)
                        || s == null
                        || !s.storedName().equals(t.name())
                        || !s.file().equals(e.getKey())) {
                    continue; // a parameter, or a duplicate already reported
                }
                if (schema.isTiedHead(schemaName)) {
                    long[] expected = schema.get(CheckpointSchema.EMBEDDING).shape();
                    if (!Arrays.equals(expected, t.shape())) {
                        problems.add(s.file() + ": tensor '" + t.name() + "' has shape " + Arrays.toString(t.shape())
                                + " but the config expects " + Arrays.toString(expected) + " (tied to the embedding)");
                    } else if (!t.readable()) {
                        problems.add(unreadable(s));
                    }
                    tiedHead = s;
                    continue;
                }
                unknown.add(s);
            }
        }
        for (Source s : unknown) {
            problems.add(s.file() + ": unexpected tensor '" + s.storedName() + "' with shape "
                    + Arrays.toString(s.stored().shape()) + ": the config has no such parameter");
        }
        return new WeightPlan(layout, parameters, tiedHead, problems, listings);
    }

    private static String unreadable(Source s) {
        return s.file() + ": tensor '" + s.storedName() + "' has dtype "
                + s.stored().dtype() + "; ssm-spark reads float32, float16, bfloat16 and float64 weights";
    }

    /** Every tensor of a shard is listed for that shard in the index, and every listed tensor is in its shard. */
    private static void checkAgainstIndex(
            CheckpointLayout layout, Map<Path, List<StoredTensor>> listings, List<String> problems) {
        Map<String, String> weightMap = layout.weightMap();
        if (weightMap == null) {
            return;
        }
        Map<String, List<String>> held = new HashMap<>();
        for (Map.Entry<Path, List<StoredTensor>> e : listings.entrySet()) {
            String shard = e.getKey().getFileName().toString();
            List<String> names = new ArrayList<>();
            for (StoredTensor t : e.getValue()) {
                names.add(t.name());
                String listed = weightMap.get(t.name());
                if (!shard.equals(listed)) {
                    problems.add(e.getKey() + ": holds tensor '" + t.name() + "', which " + layout.indexFile()
                            + (listed == null ? " does not list" : " lists in shard '" + listed + "'"));
                }
            }
            held.put(shard, names);
        }
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            List<String> names = held.get(e.getValue());
            if (names != null && !names.contains(e.getKey())) {
                problems.add(layout.indexFile() + ": lists tensor '" + e.getKey() + "' in shard '" + e.getValue()
                        + "', which does not hold it");
            }
        }
    }

    CheckpointLayout layout() {
        return layout;
    }

    /** Where each stored tensor found goes, in schema order. */
    List<Placement> parameters() {
        return parameters;
    }

    /** A tied head stored beside the embedding (mamba_ssm's state dict holds one), or null. */
    Source tiedHead() {
        return tiedHead;
    }

    /** What stops the load, in the order the loader reports it (the first is thrown). */
    List<String> problems() {
        return problems;
    }

    /** Each weight file's tensors, in reading order. */
    Map<Path, List<StoredTensor>> listings() {
        return listings;
    }

    /** Stored element types and how many tensors have each, over all files. */
    Map<String, Integer> dtypeCounts() {
        Map<String, Integer> out = new TreeMap<>();
        for (List<StoredTensor> list : listings.values()) {
            for (StoredTensor t : list) {
                out.merge(t.dtype(), 1, Integer::sum);
            }
        }
        return out;
    }
}
