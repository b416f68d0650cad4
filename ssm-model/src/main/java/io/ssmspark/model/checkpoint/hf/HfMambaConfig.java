package io.ssmspark.model.checkpoint.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A transformers {@code MambaForCausalLM} (Mamba-1; mamba-*-hf) config.json (transformers'
 * models/mamba/configuration_mamba.py, {@code MambaConfig}, 4.x and 5.x spellings) mapped onto the {@link MambaConfig}
 * with mamba_ssm's Mamba (Mamba1) layers that computes the same model (models/mamba/modeling_mamba.py): every block
 * is {@code residual + MambaMixer(MambaRMSNorm(residual))} (MambaBlock), the model ends with {@code norm_f}
 * (MambaRMSNorm, layer_norm_epsilon), then {@code lm_head}, with no MLP and an unpadded vocabulary (the embedding has
 * {@code vocab_size} rows). The mixer is mamba_ssm's Mamba: in_proj (bias use_bias) split [x, gate], a causal
 * depthwise conv1d (bias use_conv_bias) and SiLU, x_proj (no bias) split [time_step (time_step_rank), B, C], dt_proj
 * (always with a bias) inside the softplus, A = -exp(A_log), D, y·SiLU(gate), out_proj (bias use_bias). Tensor
 * names are mamba_ssm's but for the embedding ({@link HfMamba2Names}).
 *
 * <p>Fields that change the model and that ssm-spark does not compute the same way are refused by name; fields only
 * used to initialise a model and PretrainedConfig's generic fields are accepted; any other field is refused as
 * unknown.
 */
public final class HfMambaConfig {
    public static final String ARCHITECTURE = "MambaForCausalLM";
    public static final String MODEL_TYPE = "mamba";

    private HfMambaConfig() {}

    static HfConfig parse(HfFields f, String architecture) throws MalformedConfigException {
        List<String> notes = new ArrayList<>();
        // Defaults: MambaConfig.__init__ (configuration_mamba.py), which are state-spaces/mamba-2.8b's.
        int hidden = f.integer("hidden_size", 768);
        int layers = f.integer("num_hidden_layers", 32);
        int vocab = f.integer("vocab_size", 50280);
        int state = f.integer("state_size", 16);
        int expand = f.integral("expand", 2);
        int convKernel = f.integer("conv_kernel", 4);
        double eps = f.number("layer_norm_epsilon", 1e-5);
        // use_bias defaults to True in MambaConfig (mamba-*-hf configs write false).
        boolean bias = f.bool("use_bias", true);
        boolean convBias = f.bool("use_conv_bias", true);
        boolean residualInFp32 = f.bool("residual_in_fp32", true);
        // MambaConfig leaves tie_word_embeddings to PretrainedConfig, whose default is True.
        boolean tied = f.bool("tie_word_embeddings", true);
        double dtMin = f.number("time_step_min", 0.001);
        double dtMax = f.number("time_step_max", 0.1);
        double dtFloor = f.number("time_step_floor", 1e-4);
        double dtScale = f.number("time_step_scale", 1.0);

        for (String field :
                new String[] {"hidden_size", "num_hidden_layers", "vocab_size", "state_size", "expand", "conv_kernel"
                }) {
            JsonNode v = f.node().get(field);
            if (v != null && v.isNumber() && v.doubleValue() < 1) {
                throw f.invalid(field, "must be >= 1, found " + v);
            }
        }
        long inner = (long) expand * hidden;
        JsonNode intermediate = f.raw("intermediate_size");
        if (intermediate != null) {
            // configuration_mamba.py stores intermediate_size = int(expand * hidden_size) and saves it; MambaMixer
            // sizes every tensor by it, ssm-spark by expand * d_model.
            int stored = f.integer("intermediate_size", 0);
            if (stored != inner) {
                throw f.invalid(
                        "intermediate_size",
                        "= " + stored + " but expand * hidden_size = " + expand + " * " + hidden + " = " + inner
                                + "; they must be equal (ssm-spark's d_inner is expand * d_model)");
            }
        }
        if (convKernel < 2) {
            throw f.unsupported("conv_kernel", convKernel, "ssm-spark's causal conv needs a kernel of at least 2");
        }
        if (!(eps > 0) || !Double.isFinite(eps)) {
            throw f.invalid("layer_norm_epsilon", "must be a finite number > 0, found " + eps);
        }
        // Mamba-1 has no norm inside the mixer: layer_norm_epsilon is the epsilon of every MambaRMSNorm (each
        // block's norm and norm_f, modeling_mamba.py), which is ssm-spark's norm_epsilon.
        Integer dtRank = timeStepRank(f, hidden);
        String act = f.string("hidden_act");
        if (act != null && !act.equals("silu") && !act.equals("swish")) {
            // MambaMixer applies ACT2FN[hidden_act] after the conv; ssm-spark's Mamba1 applies SiLU.
            throw f.unsupported(
                    "hidden_act", "\"" + act + "\"", "only \"silu\" (or \"swish\", the same function) is supported");
        }
        // time_step_init_scheme, time_step_scale, time_step_min/max/floor, initializer_range and
        // rescale_prenorm_residual only initialise a new model (MambaPreTrainedModel._init_weights); use_mambapy
        // picks a fallback implementation of the same scan.
        String scheme = f.string("time_step_init_scheme");
        String dtInit = "random";
        if ("constant".equals(scheme)) {
            dtInit = "constant";
        } else if (scheme != null && !scheme.equals("random")) {
            notes.add("time_step_init_scheme = \"" + scheme + "\" only initialises dt_proj.weight in transformers;"
                    + " a fresh ssm-spark model from this config initialises it as \"random\"");
        }
        f.raw("initializer_range");
        f.raw("rescale_prenorm_residual");
        JsonNode mambapy = f.raw("use_mambapy");
        if (mambapy != null && !mambapy.isBoolean()) {
            throw f.wrongType("use_mambapy", "true or false", mambapy);
        }
        if (!(dtMin > 0) || !(dtMax >= dtMin) || !(dtFloor >= 0) || !Double.isFinite(dtMax)) {
            throw f.invalid(
                    "time_step_min",
                    "time_step_min, time_step_max and time_step_floor must satisfy"
                            + " 0 < min <= max (finite) and floor >= 0, found " + dtMin + ", " + dtMax + ", "
                            + dtFloor);
        }
        if (!(dtScale >= 0) || !Double.isFinite(dtScale)) {
            throw f.invalid("time_step_scale", "must be a finite number >= 0, found " + dtScale);
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
                    .ssm(SsmConfig.mamba1Builder()
                            .dState(state)
                            .dConv(convKernel)
                            .expand(expand)
                            .dtRank(dtRank)
                            .dtMin(dtMin)
                            .dtMax(dtMax)
                            .dtInitFloor(dtFloor)
                            .dtInit(dtInit)
                            .dtScale(dtScale)
                            .convBias(convBias)
                            .bias(bias)
                            .build())
                    .build();
            return new HfConfig(config, architecture, declared, version, notes);
        } catch (IllegalArgumentException e) {
            throw new MalformedConfigException(f.source() + ": " + e.getMessage(), e);
        }
    }

    /**
     * time_step_rank: "auto" (ceil(hidden_size / 16), configuration_mamba.py, as mamba_ssm's dt_rank "auto") or an
     * integer >= 1; saved configs hold the resolved integer. Returns null for "auto" or for the auto value.
     */
    private static Integer timeStepRank(HfFields f, int hidden) throws MalformedConfigException {
        JsonNode v = f.raw("time_step_rank");
        int auto = (hidden + 15) / 16;
        if (v == null || (v.isTextual() && v.textValue().equals("auto"))) {
            return null;
        }
        int rank = f.integral("time_step_rank", auto);
        if (rank < 1) {
            throw f.invalid("time_step_rank", "must be \"auto\" or an integer >= 1, found " + v);
        }
        return rank == auto ? null : rank;
    }

    private static MalformedConfigException unknownField(HfFields f, String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        String why;
        if (name.equals("mixer_rms_eps") || name.equals("use_falcon_mambapy")) {
            why = "it is a field of Falcon-Mamba (FalconMambaConfig), whose mixer RMS-normalises B, C and dt,"
                    + " which ssm-spark's Mamba1 mixer does not compute";
        } else if (lower.contains("expert") || lower.startsWith("moe") || lower.contains("router")) {
            why = "mixture-of-experts layers are not part of MambaForCausalLM and ssm-spark has none";
        } else if (lower.contains("attention") || lower.contains("attn") || lower.contains("rope")) {
            why = "attention layers are not part of MambaForCausalLM";
        } else if (lower.contains("mlp")) {
            why = "MLP blocks are not part of MambaForCausalLM";
        } else {
            why = "it is not a field of transformers' MambaConfig, and ssm-spark does not guess what it means";
        }
        return new MalformedConfigException(f.source() + ": unknown field '" + name + "': " + why);
    }
}
