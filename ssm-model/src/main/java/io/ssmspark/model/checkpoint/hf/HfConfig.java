package io.ssmspark.model.checkpoint.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.layers.GatedRmsNorm;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * A transformers config.json mapped onto the {@link MambaConfig} that computes the same model: which architecture
 * it names ({@code architectures} and/or {@code model_type}), and the mapping of that architecture's fields
 * ({@link HfMamba2Config} for {@code Mamba2ForCausalLM}, {@link HfMambaConfig} for {@code MambaForCausalLM}).
 * Architectures ssm-spark cannot compute identically are refused by name, with the reason.
 */
public record HfConfig(
        MambaConfig config, String architecture, String declaredDtype, String transformersVersion, List<String> notes) {

    /**
     * PretrainedConfig's own fields (transformers configuration_utils.py) that do not change the model's forward:
     * bookkeeping, token ids, output switches and the retired generation settings it still accepts.
     */
    static final Set<String> GENERIC = Set.of(
            "architectures",
            "model_type",
            "transformers_version",
            "_name_or_path",
            "_commit_hash",
            "_attn_implementation",
            "_attn_implementation_autoset",
            "attn_implementation",
            "torch_dtype",
            "dtype",
            "bos_token_id",
            "eos_token_id",
            "pad_token_id",
            "sep_token_id",
            "decoder_start_token_id",
            "use_cache",
            "return_dict",
            "output_hidden_states",
            "output_attentions",
            "torchscript",
            "use_bfloat16",
            "tf_legacy_loss",
            "pruned_heads",
            "chunk_size_feed_forward",
            "is_decoder",
            "cross_attention_hidden_size",
            "add_cross_attention",
            "tie_encoder_decoder",
            "finetuning_task",
            "id2label",
            "label2id",
            "num_labels",
            "problem_type",
            "tokenizer_class",
            "prefix",
            "task_specific_params",
            "max_length",
            "min_length",
            "do_sample",
            "early_stopping",
            "num_beams",
            "num_beam_groups",
            "diversity_penalty",
            "temperature",
            "top_k",
            "top_p",
            "typical_p",
            "repetition_penalty",
            "length_penalty",
            "no_repeat_ngram_size",
            "encoder_no_repeat_ngram_size",
            "bad_words_ids",
            "num_return_sequences",
            "output_scores",
            "return_dict_in_generate",
            "forced_bos_token_id",
            "forced_eos_token_id",
            "remove_invalid_values",
            "exponential_decay_length_penalty",
            "suppress_tokens",
            "begin_suppress_tokens");

    public HfConfig {
        notes = Collections.unmodifiableList(new ArrayList<>(notes));
    }

    /** Whether a config.json was written by transformers: it names architectures, model_type or its version. */
    public static boolean isTransformersConfig(JsonNode root) {
        return root.has("architectures") || root.has("model_type") || root.has("transformers_version");
    }

    /**
     * Maps a transformers config.json (already parsed, {@code source} naming the file) onto a MambaConfig: finds the
     * architecture, refuses any but Mamba2ForCausalLM and MambaForCausalLM, and maps that architecture's fields.
     */
    public static HfConfig parse(ObjectNode root, String source) throws MalformedConfigException {
        HfFields f = new HfFields(source, root);
        JsonNode archs = f.raw("architectures");
        String modelType = f.string("model_type");
        String fromArchs = null;
        if (archs != null && !archs.isNull()) {
            if (!archs.isArray() || archs.isEmpty() || !archs.get(0).isTextual()) {
                throw f.wrongType("architectures", "an array of class names", archs);
            }
            for (JsonNode a : archs) {
                String name = a.asText();
                if (!a.isTextual() || modelTypeOf(name) == null) {
                    throw f.unsupported("architectures", archs, unsupportedArchitecture(name));
                }
                if (fromArchs != null && !fromArchs.equals(name)) {
                    throw f.unsupported("architectures", archs, "one architecture per checkpoint");
                }
                fromArchs = name;
            }
        }
        String fromType = null;
        if (modelType != null) {
            fromType = switch (modelType) {
                case HfMamba2Config.MODEL_TYPE -> HfMamba2Config.ARCHITECTURE;
                case HfMambaConfig.MODEL_TYPE -> HfMambaConfig.ARCHITECTURE;
                case HfBambaConfig.MODEL_TYPE -> HfBambaConfig.ARCHITECTURE;
                default ->
                    throw f.unsupported("model_type", "\"" + modelType + "\"", unsupportedArchitecture(modelType));
            };
        }
        if (fromArchs == null && fromType == null) {
            throw f.invalid(
                    "model_type",
                    "is missing, and so is architectures: a transformers config names its model (\"model_type\":"
                            + " \"mamba2\" or \"architectures\": [\"Mamba2ForCausalLM\"], or \"mamba\" /"
                            + " [\"MambaForCausalLM\"])");
        }
        if (fromArchs != null && fromType != null && !fromArchs.equals(fromType)) {
            throw f.invalid(
                    "model_type",
                    "= \"" + modelType + "\" contradicts architectures = " + archs + " (" + fromArchs + " has"
                            + " model_type \"" + modelTypeOf(fromArchs) + "\")");
        }
        String arch = fromArchs != null ? fromArchs : fromType;
        String shown = fromArchs != null ? arch : arch + " (from model_type \"" + modelType + "\")";
        return switch (arch) {
            case HfMambaConfig.ARCHITECTURE -> HfMambaConfig.parse(f, shown);
            case HfBambaConfig.ARCHITECTURE -> HfBambaConfig.parse(f, shown);
            default -> HfMamba2Config.parse(f, shown);
        };
    }

    /** The model_type of an architecture ssm-spark reads, or null. */
    private static String modelTypeOf(String architecture) {
        return switch (architecture) {
            case HfMamba2Config.ARCHITECTURE -> HfMamba2Config.MODEL_TYPE;
            case HfMambaConfig.ARCHITECTURE -> HfMambaConfig.MODEL_TYPE;
            case HfBambaConfig.ARCHITECTURE -> HfBambaConfig.MODEL_TYPE;
            default -> null;
        };
    }

    /** Whether the architecture is BambaForCausalLM (its tensor names are {@link HfBambaNames}). */
    public boolean bamba() {
        return architecture.startsWith(HfBambaConfig.ARCHITECTURE);
    }

    private static String unsupportedArchitecture(String name) {
        String why = switch (name) {
            case "FalconMambaForCausalLM", "falcon_mamba" ->
                " (Falcon-Mamba's mixer RMS-normalises B, C and dt inside every layer (transformers"
                        + " models/falcon_mamba/modeling_falcon_mamba.py, rms_forward with mixer_rms_eps), which"
                        + " ssm-spark's Mamba1 mixer does not compute)";
            case "Zamba2ForCausalLM",
                    "zamba2",
                    "FalconH1ForCausalLM",
                    "falcon_h1",
                    "NemotronHForCausalLM",
                    "nemotron_h",
                    "GraniteMoeHybridForCausalLM",
                    "granitemoehybrid" ->
                " (hybrid models need the mapping of their attention and MLP layers, not done yet)";
            default -> "";
        };
        return "only " + HfMamba2Config.ARCHITECTURE + " (model_type \"" + HfMamba2Config.MODEL_TYPE + "\"), "
                + HfMambaConfig.ARCHITECTURE + " (model_type \"" + HfMambaConfig.MODEL_TYPE + "\") and "
                + HfBambaConfig.ARCHITECTURE + " (model_type \"" + HfBambaConfig.MODEL_TYPE
                + "\") are read from a transformers config" + why;
    }

    /**
     * Marks PretrainedConfig's generic fields known, refuses an encoder-decoder, and returns transformers_version.
     */
    static String generic(HfFields f, String architecture) throws MalformedConfigException {
        String version = f.string("transformers_version");
        for (String generic : GENERIC) {
            f.raw(generic);
        }
        if (f.bool("is_encoder_decoder", false)) {
            throw f.unsupported("is_encoder_decoder", true, architecture + " is a decoder only");
        }
        return version;
    }

    /** torch_dtype (transformers 4.x) or dtype (5.x): the dtype the weights were saved in, for information. */
    static String declaredDtype(HfFields f) throws MalformedConfigException {
        String old = f.string("torch_dtype");
        String now = f.string("dtype");
        if (old != null && now != null && !old.equals(now)) {
            throw f.invalid("dtype", "= \"" + now + "\" contradicts torch_dtype = \"" + old + "\"");
        }
        return now != null ? now : old;
    }

    /**
     * The epsilon {@code field} of a Mamba-2 model must be mamba_ssm's 1e-5: transformers also gives it to each Mamba-2
     * mixer's gated RMSNorm (modeling_mamba2.py / modeling_bamba.py build MambaRMSNormGated with it), where ssm-spark
     * fixes mamba_ssm's value.
     */
    static void requireGatedNormEpsilon(HfFields f, String field, double eps) throws MalformedConfigException {
        if (!(eps > 0) || !Double.isFinite(eps)) {
            throw f.invalid(field, "must be a finite number > 0, found " + eps);
        }
        if (eps != GatedRmsNorm.MAMBA2_EPS) {
            throw f.unsupported(
                    field,
                    eps,
                    "transformers also uses it in each Mamba2 mixer's gated RMSNorm, where ssm-spark uses mamba_ssm's"
                            + " fixed " + GatedRmsNorm.MAMBA2_EPS + "; only 1e-05 is supported");
        }
    }

    /**
     * time_step_limit must be absent or (0, inf): transformers clamps softplus(dt + dt_bias) into it (torch_forward's
     * torch.clamp, the kernels' dt_limit), and ssm-spark does not clamp.
     */
    static void requireUnclampedTimeStep(HfFields f) throws MalformedConfigException {
        JsonNode v = f.raw("time_step_limit");
        if (v == null || v.isNull()) {
            return; // the configs' default (0.0, float("inf"))
        }
        if (!v.isArray() || v.size() != 2) {
            throw f.wrongType("time_step_limit", "[min, max], two numbers", v);
        }
        double lo = f.toDouble("time_step_limit[0]", v.get(0));
        double hi = f.toDouble("time_step_limit[1]", v.get(1));
        if (lo != 0.0 || hi != Double.POSITIVE_INFINITY) {
            throw f.unsupported(
                    "time_step_limit",
                    "[" + lo + ", " + hi + "]",
                    "only [0.0, Infinity] (no clamping of the time step) is supported");
        }
    }
}
