package io.ssmspark.model.checkpoint;

import io.ssmspark.model.config.MambaConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A checkpoint directory, readable by mamba_ssm: {@code config.json} (MambaConfig fields) and
 * {@code model.safetensors} (mamba_ssm's tensor names and PyTorch layouts, written as F32). Extra files
 * (optimizer and training state) can be written beside them in the same atomic step. {@link #load} also reads the
 * layouts users hold from elsewhere: mamba_ssm's pytorch_model.bin and transformers' Mamba2ForCausalLM, MambaForCausalLM or BambaForCausalLM
 * ({@link CheckpointLayout}).
 */
public final class Checkpoint {
    public static final String CONFIG_FILE = "config.json";
    public static final String MODEL_FILE = "model.safetensors";
    /** transformers-style loaders expect this metadata on PyTorch safetensors files. */
    private static final Map<String, String> METADATA = Map.of("format", "pt");

    private Checkpoint() {}

    /** Saves a flat parameter vector laid out as {@link CheckpointSchema#of(MambaConfig)}. */
    public static void save(Path dir, MambaConfig config, INDArray flatParameters) throws IOException {
        save(dir, config, CheckpointSchema.of(config).unflatten(flatParameters), Map.of());
    }

    /** Saves named tensors; the map must hold exactly the config's parameters with their shapes. */
    public static void save(Path dir, MambaConfig config, Map<String, INDArray> tensors) throws IOException {
        save(dir, config, tensors, Map.of());
    }

    /**
     * Saves config.json, model.safetensors and {@code extraFiles} (file name to content) into {@code dir},
     * creating it if needed. Every file is first written to a temporary name in {@code dir}; only when
     * all are written are they renamed into place (config.json last). A tied {@code lm_head.weight} in
     * {@code tensors} must equal the embedding and is not written (it is the embedding).
     */
    public static void save(
            Path dir,
            MambaConfig config,
            Map<String, INDArray> tensors,
            Map<String, AtomicFiles.ContentWriter> extraFiles)
            throws IOException {
        CheckpointSchema schema = CheckpointSchema.of(config);
        schema.checkTensors(tensors);
        INDArray tiedHead = tensors.get(CheckpointSchema.LM_HEAD);
        if (tiedHead != null && schema.isTiedHead(CheckpointSchema.LM_HEAD)) {
            double diff = maxAbsDifference(tensors.get(CheckpointSchema.EMBEDDING), tiedHead);
            if (!(diff == 0)) {
                throw new IllegalArgumentException("tie_embeddings is true but tensor '" + CheckpointSchema.LM_HEAD
                        + "' differs from '" + CheckpointSchema.EMBEDDING + "' (max |difference| = " + diff + ")");
            }
        }
        for (String name : extraFiles.keySet()) {
            if (name.equals(CONFIG_FILE)
                    || name.equals(MODEL_FILE)
                    || name.isEmpty()
                    || !Path.of(name).getFileName().toString().equals(name)
                    || name.startsWith(".")) {
                throw new IllegalArgumentException("extra checkpoint file name '" + name
                        + "' must be a plain file name other than " + CONFIG_FILE + " and " + MODEL_FILE);
            }
        }
        Map<String, INDArray> ordered = new LinkedHashMap<>();
        for (TensorSpec t : schema.tensors()) {
            ordered.put(t.name(), tensors.get(t.name()));
        }
        Files.createDirectories(dir);
        byte[] configJson = config.toJson().getBytes(StandardCharsets.UTF_8);

        List<PendingFile> pending = new ArrayList<>(); // in commit order: config.json last
        try {
            Path model = dir.resolve(MODEL_FILE);
            pending.add(new PendingFile(
                    model,
                    AtomicFiles.writeTemporary(
                            model, out -> SafeTensorsWriter.write(out, ordered, METADATA, SafeTensorsDType.F32))));
            for (Map.Entry<String, AtomicFiles.ContentWriter> extra : extraFiles.entrySet()) {
                Path target = dir.resolve(extra.getKey());
                pending.add(new PendingFile(target, AtomicFiles.writeTemporary(target, extra.getValue())));
            }
            Path configFile = dir.resolve(CONFIG_FILE);
            pending.add(
                    new PendingFile(configFile, AtomicFiles.writeTemporary(configFile, out -> out.write(configJson))));
            while (!pending.isEmpty()) {
                PendingFile p = pending.get(0);
                AtomicFiles.commit(p.temporary(), p.target());
                pending.remove(0);
            }
        } finally {
            for (PendingFile p : pending) {
                Files.deleteIfExists(p.temporary());
            }
        }
    }

    /** A file written under a temporary name, waiting to be renamed to its target. */
    private record PendingFile(Path target, Path temporary) {}

    /** Reads only config.json of a checkpoint directory (mamba_ssm's fields, or transformers' Mamba2Config). */
    public static MambaConfig readConfig(Path dir) throws IOException {
        return CheckpointLayout.readConfig(dir);
    }

    /**
     * Loads a checkpoint directory in any {@link CheckpointLayout} (ssm-spark's and mamba_ssm's model.safetensors,
     * mamba_ssm's pytorch_model.bin, transformers' Mamba2ForCausalLM, MambaForCausalLM or BambaForCausalLM with one file or shards), reading F32, F16, BF16
     * or F64 tensors as {@code type} (FLOAT or DOUBLE). Every tensor the config expects must be present with its
     * shape; anything else is refused by name, except a tied {@code lm_head.weight}, which must have the embedding's
     * shape and values. A config whose model cannot fit in this JVM is refused before any tensor is read
     * ({@link ModelMemory}). The tensors returned are views of one flat vector in schema order.
     */
    public static LoadedCheckpoint load(Path dir, DataType type) throws IOException {
        return CheckpointLoader.load(dir, type);
    }

    /**
     * Refuses a tensor holding NaN or ±Inf, naming it and its first bad element (flat index, row-major): such
     * weights make every score NaN, so they are stopped at load rather than written out as results.
     */
    static void requireFinite(Path modelFile, String name, INDArray tensor) throws SafeTensorsFormatException {
        if (Double.isFinite(tensor.sumNumber().doubleValue())) {
            return; // a finite sum has no NaN or Inf in it; an infinite one may only have overflowed, so scan
        }
        double[] values =
                tensor.castTo(DataType.DOUBLE).dup('c').reshape(tensor.length()).toDoubleVector();
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new SafeTensorsFormatException(modelFile + ": tensor '" + name + "' holds " + values[i]
                        + " at flat index " + i + " (shape " + Arrays.toString(tensor.shape())
                        + "); the weights must be finite");
            }
        }
    }

    static double maxAbsDifference(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE)
                .sub(b.castTo(DataType.DOUBLE))
                .amaxNumber()
                .doubleValue();
    }
}
