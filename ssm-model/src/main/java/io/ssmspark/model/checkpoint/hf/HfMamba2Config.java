package io.ssmspark.model.checkpoint.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A transformers {@code Mamba2ForCausalLM} config.json (transformers' configuration_mamba2.py, {@code Mamba2Config}, in
 * its 4.x and 5.x spellings) mapped onto the {@link MambaConfig} that computes the same model
 * (modeling_mamba2.py): every block is {@code residual + mixer(RMSNorm(residual))}, the model ends with
 * {@code norm_f}, then {@code lm_head}; which is mamba_ssm's MixerModel with pure Mamba2 layers, no MLP and an
 * unpadded vocabulary (the embedding has exactly {@code vocab_size} rows, and the logits cover them).
 *
 * <p>Fields that change the model and that ssm-spark does not compute the same way are refused by name; fields
 * used only to initialise a model, and transformers' generic fields (token ids, generation settings, dtype), are
 * accepted; any other field is refused as unknown, as in ssm-spark's own config.json.
 */
public final class HfMamba2Config {
    public static final String ARCHITECTURE = "Mamba2ForCausalLM";
    public static final String MODEL_TYPE = "mamba2";

    private HfMamba2Config() {}

    /**
     * Maps a transformers config.json (already parsed, {@code source} naming the file) onto a MambaConfig, refusing
     * any architecture but Mamba2ForCausalLM and any value ssm-spark would not compute as transformers does.
     */
    static HfConfig parse(HfFields f, String architecture) throws MalformedConfigException {
        ObjectNode root = f.node();
        String source = f.source();
        List<String> notes = new ArrayList<>();

        int hidden = f.integer("hidden_size", 4096);
        int layers = f.integer("num_hidden_layers", 64);
        int vocab = f.integer("vocab_size", 32768);
        int state = f.integer("state_size", 128);
        int expand = f.integral("expand", 2);
        int headDim = f.integer("head_dim", 64);
        int heads = f.integer("num_heads", 128);
        int groups = f.integer("n_groups", 8);
        int convKernel = f.integer("conv_kernel", 4);
        int chunk = f.integer("chunk_size", 256);
        double eps = f.number("layer_norm_epsilon", 1e-5);
        boolean residualInFp32 = f.bool("residual_in_fp32", true);
        // Mamba2Config's default is False (configuration_mamba2.py), unlike PretrainedConfig's True.
        boolean tied = f.bool("tie_word_embeddings", false);
        double dtMin = f.number("time_step_min", 0.001);
        double dtMax = f.number("time_step_max", 0.1);
        double dtFloor = f.number("time_step_floor", 1e-4);

        for (String field : new String[] {
            "hidden_size",
            "num_hidden_layers",
            "vocab_size",
            "state_size",
            "expand",
            "head_dim",
            "num_heads",
            "n_groups",
            "conv_kernel",
            "chunk_size"
        }) {
            JsonNode v = root.get(field);
            if (v != null && v.isNumber() && v.doubleValue() < 1) {
                throw f.invalid(field, "must be >= 1, found " + v);
            }
        }
        long inner = (long) expand * hidden;
        if (inner != (long) heads * headDim) {
            // Mamba2Config (5.x) raises on this; 4.x sizes dt, A_log and D by num_heads but reshapes by head_dim.
            throw f.invalid(
                    "num_heads",
                    "= " + heads + " with head_dim = " + headDim + " gives " + (long) heads * headDim
                            + " channels, but expand * hidden_size = " + expand + " * " + hidden + " = " + inner
                            + "; they must be equal");
        }
        if (heads % groups != 0) {
            throw f.invalid("n_groups", "= " + groups + " does not divide num_heads = " + heads);
        }
        HfConfig.requireGatedNormEpsilon(f, "layer_norm_epsilon", eps);
        if (f.bool("use_bias", false)) {
            throw f.unsupported(
                    "use_bias",
                    true,
                    "in_proj and out_proj biases are not supported (ssm-spark's Mamba2"
                            + " has none, as mamba_ssm's default)");
        }
        if (!f.bool("use_conv_bias", true)) {
            throw f.unsupported("use_conv_bias", false, "ssm-spark's Mamba2 conv1d always has a bias");
        }
        String act = f.string("hidden_act");
        if (act != null && !act.equals("silu") && !act.equals("swish")) {
            throw f.unsupported(
                    "hidden_act",
                    "\"" + act + "\"",
                    "only \"silu\" (or \"swish\", the same function) is" + " supported");
        }
        if (!f.bool("rms_norm", true)) {
            // modeling_mamba2.py uses Mamba2RMSNorm and MambaRMSNormGated whatever rms_norm says, so false would
            // describe a model transformers does not build.
            throw f.unsupported(
                    "rms_norm",
                    false,
                    "transformers' Mamba2 always uses RMSNorm (Mamba2RMSNorm,"
                            + " MambaRMSNormGated), so the config contradicts the model it describes");
        }
        HfConfig.requireUnclampedTimeStep(f);
        // modeling_mamba2.py passes norm_before_gate=False to mamba_ssm's kernels and MambaRMSNormGated gates before
        // normalising: the field is not read by the model (some converted configs carry "norm_before_gate": true).
        JsonNode beforeGate = f.raw("norm_before_gate");
        if (beforeGate != null && !beforeGate.isBoolean()) {
            throw f.wrongType("norm_before_gate", "true or false", beforeGate);
        }
        if (beforeGate != null && beforeGate.booleanValue()) {
            notes.add("norm_before_gate = true is not read by transformers' Mamba2 (it gates before the norm);"
                    + " loaded as transformers computes it, gate before norm");
        }
        layerTypes(f, layers);
        // time_step_rank is a Mamba-1 setting Mamba2Mixer stores but never uses; initializer_range and
        // rescale_prenorm_residual only initialise a new model.
        f.raw("time_step_rank");
        f.raw("initializer_range");
        f.raw("rescale_prenorm_residual");
        if (!(dtMin > 0) || !(dtMax >= dtMin) || !(dtFloor >= 0) || !Double.isFinite(dtMax)) {
            throw f.invalid(
                    "time_step_min",
                    "time_step_min, time_step_max and time_step_floor must satisfy"
                            + " 0 < min <= max (finite) and floor >= 0, found " + dtMin + ", " + dtMax + ", "
                            + dtFloor);
        }
        if (groups > 1) {
            notes.add(String.format(
                    Locale.ROOT,
                    "n_groups = %d: the gated RMSNorm is taken over each group of"
                            + " d_inner / n_groups = %d channels, as mamba_ssm computes it (and transformers' CUDA training"
                            + " kernel); transformers' own MambaRMSNormGated normalises all %d channels at once, so its"
                            + " logits differ from these",
                    groups,
                    inner / groups,
                    inner));
        }

        String declared = HfConfig.declaredDtype(f);
        String version = HfConfig.generic(f, ARCHITECTURE);
        String unknown = f.unknown();
        if (unknown != null) {
            throw unknownField(f, unknown);
        }
        try {
            MambaConfig config = MambaConfig.builder()
                    .dModel(hidden)
                    .nLayer(layers)
                    .vocabSize(vocab)
                    .padVocabSizeMultiple(1)
                    .dIntermediate(0)
                    .rmsNorm(true)
                    .normEpsilon(eps)
                    .residualInFp32(residualInFp32)
                    .tieEmbeddings(tied)
                    .ssm(SsmConfig.builder()
                            .layer("Mamba2")
                            .dState(state)
                            .dConv(convKernel)
                            .expand(expand)
                            .headdim(headDim)
                            .ngroups(groups)
                            .chunkSize(chunk)
                            .dHasHdim(false)
                            .rmsnorm(true)
                            .normBeforeGate(false)
                            .dtMin(dtMin)
                            .dtMax(dtMax)
                            .dtInitFloor(dtFloor)
                            .build())
                    .build();
            return new HfConfig(config, architecture, declared, version, notes);
        } catch (IllegalArgumentException e) {
            throw new MalformedConfigException(source + ": " + e.getMessage(), e);
        }
    }

    /** transformers 5.x may list layer_types; for Mamba2 every layer is "mamba". */
    private static void layerTypes(HfFields f, int layers) throws MalformedConfigException {
        JsonNode v = f.raw("layer_types");
        if (v == null || v.isNull()) {
            return;
        }
        if (!v.isArray() || v.size() != layers) {
            throw f.wrongType("layer_types", "an array of " + layers + " layer types (num_hidden_layers)", v);
        }
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual() || !v.get(i).textValue().equals("mamba")) {
                throw f.unsupported("layer_types[" + i + "]", v.get(i), "Mamba2ForCausalLM has only \"mamba\" layers");
            }
        }
    }

    private static MalformedConfigException unknownField(HfFields f, String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        String why;
        if (lower.contains("expert") || lower.startsWith("moe") || lower.contains("router")) {
            why = "mixture-of-experts layers are not part of Mamba2ForCausalLM and ssm-spark has none";
        } else if (lower.contains("attention")
                || lower.contains("attn")
                || lower.contains("rope")
                || lower.equals("layers_block_type")) {
            why = "attention layers are not part of Mamba2ForCausalLM (hybrid architectures are not read yet)";
        } else if (lower.contains("mlp") || lower.equals("intermediate_size")) {
            why = "MLP blocks are not part of Mamba2ForCausalLM";
        } else {
            why = "it is not a field of transformers' Mamba2Config, and ssm-spark does not guess what it means";
        }
        return new MalformedConfigException(f.source() + ": unknown field '" + name + "': " + why);
    }
}
