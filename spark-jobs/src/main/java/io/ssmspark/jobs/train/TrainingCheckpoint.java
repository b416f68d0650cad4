package io.ssmspark.jobs.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.model.checkpoint.AtomicFiles;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.SafeTensors;
import io.ssmspark.model.checkpoint.SafeTensorsDType;
import io.ssmspark.model.checkpoint.SafeTensorsWriter;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.optim.AdamWState;
import io.ssmspark.model.tensor.MemoryLimits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A training checkpoint: DESIGN.md's checkpoint directory (config.json + model.safetensors, F32) plus
 * {@value #OPTIMIZER_FILE} (AdamW's m, v and step, bit for bit), {@value #STATE_FILE} (completed steps, epoch,
 * the run's options) and, for float64 runs, {@value #PARAMETERS_FILE} (the flat parameters as F64, since the
 * F32 model file would round them). Together they resume a run bit for bit.
 */
public record TrainingCheckpoint(
        MambaConfig config, INDArray parameters, AdamWState optimizer, long step, TrainConfig run) {
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "training-state.json";
    public static final String PARAMETERS_FILE = "parameters.safetensors";
    static final String FORMAT = "ssm-spark-training-state/1";
    private static final String FLAT = "parameters";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Writes this checkpoint to {@code target} (any Hadoop FS path), atomically, with the run's {@code tokenizer.json}
     * beside the model when it trained on one (null: a token per byte), so that the directory is also what
     * {@code --tokenizer} reads.
     */
    void save(RunFiles files, String target, long epoch, byte[] tokenizerJson) throws IOException {
        write(
                files,
                target,
                config,
                parameters,
                optimizer.step(),
                out -> SafeTensorsWriter.write(out, optimizer.tensors(), optimizer.metadata(), optimizer.fileType()),
                step,
                run,
                epoch,
                tokenizerJson);
    }

    /**
     * Writes a checkpoint as {@link #save} does, with the optimizer file's bytes from {@code optimizerFile} (the
     * sharded reduce streams m and v shard by shard there; the file must be what {@link AdamWState#write} writes)
     * and {@code optimizerStep} its update count.
     */
    static void write(
            RunFiles files,
            String target,
            MambaConfig config,
            INDArray parameters,
            long optimizerStep,
            AtomicFiles.ContentWriter optimizerFile,
            long step,
            TrainConfig run,
            long epoch,
            byte[] tokenizerJson)
            throws IOException {
        Path local = Files.createTempDirectory("ssm-checkpoint-");
        try {
            ObjectNode state = JSON.createObjectNode();
            state.put("format", FORMAT);
            state.put("step", step);
            state.put("epoch", epoch);
            state.put("optimizer_step", optimizerStep);
            state.put("dtype", run.dtype);
            state.set("run", JSON.readTree(run.toJson()));
            byte[] stateJson = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state);
            Map<String, AtomicFiles.ContentWriter> extra = new LinkedHashMap<>();
            extra.put(OPTIMIZER_FILE, optimizerFile);
            extra.put(STATE_FILE, out -> out.write(stateJson));
            if (tokenizerJson != null) {
                extra.put(io.ssmspark.data.TextTokenizer.FILE_NAME, out -> out.write(tokenizerJson));
            }
            if (parameters.dataType() == DataType.DOUBLE) {
                extra.put(
                        PARAMETERS_FILE,
                        out -> SafeTensorsWriter.write(out, Map.of(FLAT, parameters), Map.of(), SafeTensorsDType.F64));
            }
            Checkpoint.save(
                    local,
                    config,
                    io.ssmspark.model.checkpoint.CheckpointSchema.of(config).unflatten(parameters),
                    extra);
            files.publishDirectory(local, target);
        } finally {
            deleteRecursively(local);
        }
    }

    /**
     * Reads a checkpoint written by {@link #save} from {@code source} (any Hadoop FS path). It is read from a local
     * copy, but errors name the files under {@code source}.
     */
    static TrainingCheckpoint load(RunFiles files, String source) throws IOException {
        Path local = files.fetchDirectory(source);
        try {
            return read(local, source);
        } catch (IOException e) {
            throw underSource(e, local, source, IOException::new);
        } catch (IllegalArgumentException e) {
            throw underSource(e, local, source, IllegalArgumentException::new);
        } finally {
            deleteRecursively(local);
        }
    }

    /** {@code e}, or when its message names the local copy, the same message naming {@code source} instead. */
    private static <E extends Exception> E underSource(
            E e, Path local, String source, BiFunction<String, Throwable, E> wrap) {
        String message = e.getMessage();
        if (message == null || !message.contains(local.toString())) {
            return e;
        }
        return wrap.apply(message.replace(local.toString(), new org.apache.hadoop.fs.Path(source).toString()), e);
    }

    private static TrainingCheckpoint read(Path local, String source) throws IOException {
        Path stateFile = requireFile(local, STATE_FILE, source);
        JsonNode state = JSON.readTree(Files.readString(stateFile, StandardCharsets.UTF_8));
        if (!FORMAT.equals(state.path("format").asText())) {
            throw new IOException(source + "/" + STATE_FILE + ": field 'format' is '"
                    + state.path("format").asText() + "', expected '" + FORMAT + "'");
        }
        TrainConfig run = TrainConfig.fromJson(state.get("run").toString(), source + "/" + STATE_FILE);
        DataType type = run.dataType();
        MambaConfig config = Checkpoint.readConfig(local);
        TrainingMemory.of(type)
                .require(config, RunFiles.child(source, Checkpoint.CONFIG_FILE), MemoryLimits.ofThisJvm());
        INDArray parameters;
        if (type == DataType.DOUBLE) {
            parameters = SafeTensors.read(requireFile(local, PARAMETERS_FILE, source), DataType.DOUBLE)
                    .get(FLAT);
            if (parameters == null) {
                throw new IOException(source + "/" + PARAMETERS_FILE + ": tensor '" + FLAT + "' is missing");
            }
        } else {
            parameters = Checkpoint.load(local, DataType.FLOAT).flatParameters(DataType.FLOAT);
        }
        AdamWState optimizer = AdamWState.read(requireFile(local, OPTIMIZER_FILE, source));
        if (optimizer.m().dataType() != type) {
            throw new IOException(source + "/" + OPTIMIZER_FILE + ": optimizer state is "
                    + optimizer.m().dataType() + " but the run's dtype is " + run.dtype);
        }
        return new TrainingCheckpoint(
                config,
                parameters.reshape(parameters.length()),
                optimizer,
                state.path("step").asLong(),
                run);
    }

    private static Path requireFile(Path dir, String name, String source) throws IOException {
        Path f = dir.resolve(name);
        if (!Files.isRegularFile(f)) {
            throw new java.io.FileNotFoundException(source + ": checkpoint file '" + name
                    + "' is missing (not a training" + " checkpoint written by ssm-spark train?)");
        }
        return f;
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
