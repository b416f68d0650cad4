package io.ssmspark.model.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.model.checkpoint.hf.HfBambaNames;
import io.ssmspark.model.checkpoint.hf.HfConfig;
import io.ssmspark.model.checkpoint.hf.HfMamba2Names;
import io.ssmspark.model.config.MambaConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What a checkpoint directory holds and how to read it, found from its files without reading any tensor:
 * <ul>
 * <li>ssm-spark's own layout, which is mamba_ssm's: config.json (MambaConfig fields) and model.safetensors;</li>
 * <li>mamba_ssm's {@code save_pretrained}: the same config.json and {@code pytorch_model.bin} (torch.save of the
 * state dict, mamba_ssm's tensor names, the tied lm_head.weight included);</li>
 * <li>transformers' {@code Mamba2ForCausalLM}, {@code MambaForCausalLM} or {@code BambaForCausalLM} (names as
 * {@link HfBambaNames}, some tensors stored in parts) ({@code save_pretrained}): config.json
 * with transformers' field names ({@link HfConfig}) and model.safetensors, or shards listed by model.safetensors.index.json (or, saved with
 * safe_serialization=False, pytorch_model.bin and its index); tensor names as {@link HfMamba2Names}.</li>
 * </ul>
 * As transformers does, model.safetensors is read when a directory also holds pytorch_model.bin.
 */
public final class CheckpointLayout {
    public static final String BIN_FILE = "pytorch_model.bin";
    public static final String SAFETENSORS_INDEX = "model.safetensors.index.json";
    public static final String BIN_INDEX = "pytorch_model.bin.index.json";

    /** Python's json writes float('inf') as Infinity, so accept it (transformers' time_step_limit). */
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Who wrote the directory. */
    public enum Kind {
        SSM_SPARK("mamba_ssm / ssm-spark (config.json + model.safetensors)"),
        MAMBA_SSM_BIN("mamba_ssm save_pretrained (config.json + pytorch_model.bin)"),
        TRANSFORMERS("Hugging Face transformers");

        private final String description;

        Kind(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    private final Path dir;
    private final Path configFile;
    private final Kind kind;
    private final MambaConfig config;
    private final HfConfig transformers;
    private final List<Path> weightFiles;
    private final ShardIndex index;
    private final List<String> unreadFiles;

    private CheckpointLayout(
            Path dir,
            Path configFile,
            Kind kind,
            MambaConfig config,
            HfConfig transformers,
            List<Path> weightFiles,
            ShardIndex index,
            List<String> unreadFiles) {
        this.dir = dir;
        this.configFile = configFile;
        this.kind = kind;
        this.config = config;
        this.transformers = transformers;
        this.weightFiles = Collections.unmodifiableList(weightFiles);
        this.index = index;
        this.unreadFiles = Collections.unmodifiableList(unreadFiles);
    }

    /** The config of a checkpoint directory, in either config.json dialect; reads no weight file. */
    public static MambaConfig readConfig(Path dir) throws IOException {
        Path configFile = requireFile(dir, Checkpoint.CONFIG_FILE);
        HfConfig hf = transformersConfig(configFile);
        return hf != null ? hf.config() : MambaConfig.read(configFile);
    }

    /** Reads config.json and finds the weight files (and reads a shard index); opens no weight file. */
    public static CheckpointLayout detect(Path dir) throws IOException {
        Path configFile = requireFile(dir, Checkpoint.CONFIG_FILE);
        HfConfig hf = transformersConfig(configFile);
        List<String> unread = new ArrayList<>();
        Path safetensors = dir.resolve(Checkpoint.MODEL_FILE);
        Path bin = dir.resolve(BIN_FILE);
        if (hf == null) {
            MambaConfig config = MambaConfig.read(configFile);
            if (Files.isRegularFile(safetensors)) {
                if (Files.isRegularFile(bin)) {
                    unread.add(BIN_FILE + " (" + Checkpoint.MODEL_FILE + " is read instead)");
                }
                return new CheckpointLayout(
                        dir, configFile, Kind.SSM_SPARK, config, null, List.of(safetensors), null, unread);
            }
            if (Files.isRegularFile(bin)) {
                return new CheckpointLayout(
                        dir, configFile, Kind.MAMBA_SSM_BIN, config, null, List.of(bin), null, unread);
            }
            throw new NoSuchFileException(
                    safetensors.toString(),
                    null,
                    "checkpoint directory has no " + Checkpoint.MODEL_FILE + " (nor " + BIN_FILE + ")");
        }
        // transformers' from_pretrained order: model.safetensors, its index, then pytorch_model.bin and its index.
        String[] candidates = {Checkpoint.MODEL_FILE, SAFETENSORS_INDEX, BIN_FILE, BIN_INDEX};
        for (int i = 0; i < candidates.length; i++) {
            Path p = dir.resolve(candidates[i]);
            if (!Files.isRegularFile(p)) {
                continue;
            }
            for (int j = i + 1; j < candidates.length; j++) {
                if (Files.isRegularFile(dir.resolve(candidates[j]))) {
                    unread.add(candidates[j] + " (" + candidates[i] + " is read instead)");
                }
            }
            if (candidates[i].endsWith(".index.json")) {
                ShardIndex index = ShardIndex.read(p);
                return new CheckpointLayout(
                        dir, configFile, Kind.TRANSFORMERS, hf.config(), hf, index.shards(), index, unread);
            }
            return new CheckpointLayout(dir, configFile, Kind.TRANSFORMERS, hf.config(), hf, List.of(p), null, unread);
        }
        throw new NoSuchFileException(
                safetensors.toString(),
                null,
                "checkpoint directory has no " + Checkpoint.MODEL_FILE + " (nor " + SAFETENSORS_INDEX + ", " + BIN_FILE
                        + " or " + BIN_INDEX + ")");
    }

    /** The transformers config of the file, or null when config.json is not a transformers config. */
    private static HfConfig transformersConfig(Path configFile) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readString(configFile, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            return null; // MambaConfig.read reports it
        }
        if (root instanceof ObjectNode o && HfConfig.isTransformersConfig(o)) {
            return HfConfig.parse(o, configFile.toString());
        }
        return null;
    }

    static Path requireFile(Path dir, String name) throws NoSuchFileException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "checkpoint directory not found");
        }
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "checkpoint directory has no " + name);
        }
        return file;
    }

    public Path dir() {
        return dir;
    }

    public Path configFile() {
        return configFile;
    }

    public Kind kind() {
        return kind;
    }

    public MambaConfig config() {
        return config;
    }

    /** The transformers config, or null for mamba_ssm / ssm-spark directories. */
    public HfConfig transformers() {
        return transformers;
    }

    /** The weight files, in the order they are read (shards sorted by name). */
    public List<Path> weightFiles() {
        return weightFiles;
    }

    /** The shard index, or null for a single weight file. */
    public Path indexFile() {
        return index == null ? null : index.file();
    }

    /** Tensor name to shard file name, or null for a single weight file. */
    Map<String, String> weightMap() {
        return index == null ? null : index.weightMap();
    }

    /** Weight files present but not read, each with the reason. */
    public List<String> unreadFiles() {
        return unreadFiles;
    }

    /** The file a missing tensor is reported against: the index of a sharded checkpoint, else its one file. */
    Path tensorsSource() {
        return index != null ? index.file() : weightFiles.get(0);
    }

    /**
     * The mamba_ssm (schema) name of a tensor stored under {@code storedName}; for a tensor stored in parts
     * ({@link #partRows}), the part key {@code name#k}.
     */
    public String toSchemaName(String storedName) {
        if (isBamba()) {
            return HfBambaNames.toSchemaKey(storedName);
        }
        return kind == Kind.TRANSFORMERS ? HfMamba2Names.toMambaSsm(storedName) : storedName;
    }

    /** The name a schema tensor (or part key) has in this layout's files. */
    public String toStoredName(String schemaName) {
        if (isBamba()) {
            return HfBambaNames.toStored(schemaName, config);
        }
        return kind == Kind.TRANSFORMERS ? HfMamba2Names.toTransformers(schemaName) : schemaName;
    }

    /** The rows of each stored part of a schema tensor this layout stores in parts (along dim 0), or null. */
    List<Long> partRows(String schemaName) {
        return isBamba() ? HfBambaNames.partRows(schemaName, config) : null;
    }

    private boolean isBamba() {
        return transformers != null && transformers.bamba();
    }

    /** The config field that ties the head to the embedding, as this layout's config.json spells it. */
    String tieField() {
        return kind == Kind.TRANSFORMERS ? "tie_word_embeddings" : "tie_embeddings";
    }
}
