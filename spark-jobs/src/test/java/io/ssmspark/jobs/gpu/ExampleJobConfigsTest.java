package io.ssmspark.jobs.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * cluster-conf/examples: each job config parses, names only the options its command has, and points
 * at files that exist; the model config names only MambaConfig fields (DESIGN.md, "config.json").
 */
class ExampleJobConfigsTest {

    private static final Path ROOT = Path.of("..");
    private static final Path EXAMPLES = ClusterConfTemplatesTest.CLUSTER_CONF.resolve("examples");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The options of the train and score commands, and which of them a config must give. */
    private static final Map<String, Set<String>> OPTIONS = Map.of(
            "train",
                    Set.of(
                            "model-config",
                            "data",
                            "input-format",
                            "seq-len",
                            "global-batch",
                            "steps",
                            "lr",
                            "seed",
                            "partitions",
                            "master",
                            "out",
                            "resume"),
            "score", Set.of("model", "input", "input-format", "output", "segment-length", "format", "master"));

    private static final Map<String, Set<String>> REQUIRED = Map.of(
            "train", Set.of("model-config", "data", "out"),
            "score", Set.of("model", "input", "output"));
    private static final Set<String> INPUT_FORMATS = Set.of("text", "fasta", "tokens-i32", "tokens-u16", "parquet");
    private static final Set<String> POSITIVE_INTEGERS =
            Set.of("seq-len", "global-batch", "steps", "seed", "partitions", "segment-length");

    private static final Set<String> MAMBA_CONFIG_FIELDS = Set.of(
            "d_model",
            "d_intermediate",
            "n_layer",
            "vocab_size",
            "ssm_cfg",
            "attn_layer_idx",
            "attn_cfg",
            "rms_norm",
            "norm_epsilon",
            "pad_vocab_size_multiple",
            "tie_embeddings");
    private static final Set<String> SSM_CFG_FIELDS = Set.of(
            "layer",
            "d_state",
            "d_conv",
            "expand",
            "headdim",
            "ngroups",
            "chunk_size",
            "D_has_hdim",
            "rmsnorm",
            "norm_before_gate");
    private static final Set<String> ATTN_CFG_FIELDS = Set.of(
            "num_heads",
            "num_heads_kv",
            "head_dim",
            "rotary_emb_dim",
            "rotary_emb_base",
            "qkv_proj_bias",
            "out_proj_bias",
            "causal",
            "softmax_scale",
            "window_size");

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    /** The problems of one job config, empty when it is right. */
    static List<String> problems(JsonNode config, String name) {
        List<String> problems = new ArrayList<>();
        String command = config.path("command").asText();
        if (!OPTIONS.containsKey(command)) {
            return List.of(name + ": command '" + command + "', expected train or score");
        }
        Path properties = ROOT.resolve(config.path("properties_file").asText());
        if (!Files.isRegularFile(properties)) {
            problems.add(name + ": properties_file " + properties + " does not exist");
        }
        JsonNode options = config.path("options");
        for (String option : fieldNames(options)) {
            if (!OPTIONS.get(command).contains(option)) {
                problems.add(name + ": " + command + " has no option --" + option);
            }
            if (POSITIVE_INTEGERS.contains(option)
                    && !(options.get(option).canConvertToInt()
                            && options.get(option).isIntegralNumber()
                            && options.get(option).asInt() > 0)) {
                problems.add(name + ": --" + option + " must be a positive integer, found " + options.get(option));
            }
        }
        for (String option : REQUIRED.get(command)) {
            if (!options.has(option)) {
                problems.add(name + ": " + command + " needs --" + option);
            }
        }
        if (options.has("input-format")
                && !INPUT_FORMATS.contains(options.get("input-format").asText())) {
            problems.add(
                    name + ": --input-format " + options.get("input-format") + ", expected one of " + INPUT_FORMATS);
        }
        if (options.has("format")
                && !Set.of("parquet", "csv").contains(options.get("format").asText())) {
            problems.add(name + ": --format " + options.get("format") + ", expected parquet or csv");
        }
        if (options.has("lr")
                && !(options.get("lr").isNumber() && options.get("lr").asDouble() > 0)) {
            problems.add(name + ": --lr must be a positive number, found " + options.get("lr"));
        }
        return problems;
    }

    @Test
    void bothExamplesAreValid() throws IOException {
        for (String file : List.of("train.json", "score.json")) {
            JsonNode config = JSON.readTree(EXAMPLES.resolve(file).toFile());
            assertEquals(List.of(), problems(config, file));
            assertEquals(file.replace(".json", ""), config.get("command").asText());
        }
    }

    @Test
    void aWrongConfigReportsEachProblem() throws IOException {
        JsonNode wrong = JSON.readTree("""
                {"command": "score", "properties_file": "cluster-conf/spark-defaults.nowhere.conf",
                 "options": {"model": "m", "input": "x.fa", "input-format": "fastq", "segment-length": 0,
                             "format": "json", "steps": 10}}""");
        assertEquals(
                List.of(
                        "bad.json: properties_file ../cluster-conf/spark-defaults.nowhere.conf does not exist",
                        "bad.json: --segment-length must be a positive integer, found 0",
                        "bad.json: score has no option --steps",
                        "bad.json: score needs --output",
                        "bad.json: --input-format \"fastq\", expected one of " + INPUT_FORMATS,
                        "bad.json: --format \"json\", expected parquet or csv"),
                problems(wrong, "bad.json"));
    }

    @Test
    void trainExampleModelIsASmallHybridForTheAssociativeRecallVocabulary() throws IOException {
        JsonNode train = JSON.readTree(EXAMPLES.resolve("train.json").toFile());
        assertTrue(train.at("/options/data").asText().startsWith("synthetic:associative-recall"));
        Path modelConfig = ROOT.resolve(train.at("/options/model-config").asText());
        JsonNode model = JSON.readTree(modelConfig.toFile());
        assertTrue(
                MAMBA_CONFIG_FIELDS.containsAll(fieldNames(model)),
                fieldNames(model).toString());
        assertTrue(SSM_CFG_FIELDS.containsAll(fieldNames(model.get("ssm_cfg"))));
        assertTrue(ATTN_CFG_FIELDS.containsAll(fieldNames(model.get("attn_cfg"))));
        assertEquals("Mamba2", model.at("/ssm_cfg/layer").asText());
        // associative-recall's default vocabulary: 64 keys + 64 values + 1 separator.
        assertEquals(129, model.get("vocab_size").asInt());
        // A hybrid: attention at some, not all, layers.
        int layers = model.get("n_layer").asInt();
        assertEquals(1, model.get("attn_layer_idx").size());
        assertTrue(model.get("attn_layer_idx").get(0).asInt() < layers);
        // Mamba-2 heads tile d_inner = expand * d_model; attention heads tile d_model.
        int dInner = model.at("/ssm_cfg/expand").asInt() * model.get("d_model").asInt();
        assertEquals(0, dInner % model.at("/ssm_cfg/headdim").asInt());
        assertEquals(
                model.get("d_model").asInt(),
                model.at("/attn_cfg/num_heads").asInt()
                        * model.at("/attn_cfg/head_dim").asInt());
    }
}
