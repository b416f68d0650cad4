package io.ssmspark.model.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** Reads and writes config.json in mamba_ssm's key names. */
final class MambaConfigJson {
    /** Python's json module writes float('inf') as Infinity (mamba_ssm's dt_limit default), so accept it. */
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private MambaConfigJson() {}

    static MambaConfig read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "config file not found");
        }
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    static MambaConfig parse(String json, String source) throws MalformedConfigException {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null
                    ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column "
                            + e.getLocation().getColumnNr();
            throw new MalformedConfigException(source + ": not valid JSON" + where + ": " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new MalformedConfigException(source + ": expected a JSON object at the top level, found "
                    + (root == null || root.isMissingNode()
                            ? "nothing"
                            : root.getNodeType().toString().toLowerCase()));
        }
        JsonFields top = new JsonFields(source, "", (ObjectNode) root);
        try {
            MambaConfig.Builder b = MambaConfig.builder();
            MambaConfig defaults = b.build();
            int dModel = top.integer("d_model", defaults.dModel());
            List<Integer> attnLayerIdx = top.integerList("attn_layer_idx", List.of());
            b.dModel(dModel)
                    .dIntermediate(top.integer("d_intermediate", defaults.dIntermediate()))
                    .nLayer(top.integer("n_layer", defaults.nLayer()))
                    .vocabSize(top.integer("vocab_size", defaults.vocabSize()))
                    .attnLayerIdx(attnLayerIdx)
                    .rmsNorm(top.bool("rms_norm", defaults.rmsNorm()))
                    .normEpsilon(top.number("norm_epsilon", defaults.normEpsilon()))
                    .residualInFp32(top.bool("residual_in_fp32", defaults.residualInFp32()))
                    .fusedAddNorm(top.bool("fused_add_norm", defaults.fusedAddNorm()))
                    .padVocabSizeMultiple(top.integer("pad_vocab_size_multiple", defaults.padVocabSizeMultiple()))
                    .tieEmbeddings(top.bool("tie_embeddings", defaults.tieEmbeddings()));
            b.ssm(parseSsm(top.object("ssm_cfg"), dModel));
            b.attn(parseAttn(top.object("attn_cfg"), !attnLayerIdx.isEmpty()));
            top.rejectUnknown();
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new MalformedConfigException(source + ": " + e.getMessage(), e);
        }
    }

    private static SsmConfig parseSsm(JsonFields s, int dModel) throws MalformedConfigException {
        // mamba_ssm's create_block: ssm_cfg.pop("layer", "Mamba1") (models/mixer_seq_simple.py)
        String layer = s.string("layer", SsmConfig.MAMBA1);
        if (layer.equals(SsmConfig.MAMBA1)) {
            return parseMamba1(s);
        }
        if (layer.equals(RetNetConfig.LAYER)) {
            return parseRetNet(s);
        }
        if (layer.equals(S4dConfig.LAYER)) {
            return parseS4d(s);
        }
        if (!layer.equals("Mamba2")) {
            throw s.unsupported(
                    "layer",
                    "\"" + layer + "\"",
                    "the supported layers are \"Mamba1\" (also when none" + " is named), \"Mamba2\", \""
                            + RetNetConfig.LAYER + "\" and \"" + S4dConfig.LAYER + "\"");
        }
        SsmConfig d = SsmConfig.DEFAULTS;
        SsmConfig.Builder b = SsmConfig.builder()
                .layer(layer)
                .dState(s.integer("d_state", d.dState()))
                .dConv(s.integer("d_conv", d.dConv()))
                .headdim(s.integer("headdim", d.headdim()))
                .ngroups(s.integer("ngroups", d.ngroups()))
                .chunkSize(s.integer("chunk_size", d.chunkSize()))
                .dHasHdim(s.bool("D_has_hdim", d.dHasHdim()))
                .rmsnorm(s.bool("rmsnorm", d.rmsnorm()))
                .normBeforeGate(s.bool("norm_before_gate", d.normBeforeGate()))
                .dtMin(s.number("dt_min", d.dtMin()))
                .dtMax(s.number("dt_max", d.dtMax()))
                .dtInitFloor(s.number("dt_init_floor", d.dtInitFloor()))
                .convInit(s.nullableNumber("conv_init"))
                .useMemEffPath(s.bool("use_mem_eff_path", d.useMemEffPath()));
        int expand = s.integer("expand", d.expand());
        b.expand(expand);
        double[] aRange = s.numberArray("A_init_range", 2, new double[] {d.aInitMin(), d.aInitMax()});
        b.aInitRange(aRange[0], aRange[1]);

        if (s.bool("bias", false)) {
            throw s.unsupported(
                    "bias", true, "ssm-spark's Mamba2 has no in_proj/out_proj bias (mamba_ssm's default false)");
        }
        if (!s.bool("conv_bias", true)) {
            throw s.unsupported(
                    "conv_bias", false, "ssm-spark's Mamba2 conv1d always has a bias (mamba_ssm's default true)");
        }
        Integer dSsm = s.nullableInteger("d_ssm");
        long dInner = (long) expand * dModel;
        if (dSsm != null && dSsm != dInner) {
            throw s.unsupported(
                    "d_ssm",
                    dSsm,
                    "only null or d_inner = expand * d_model = " + dInner
                            + " is supported (no extra MLP channels in in_proj)");
        }
        double[] dtLimit = s.numberArray("dt_limit", 2, new double[] {0.0, Double.POSITIVE_INFINITY});
        if (dtLimit[0] != 0.0 || dtLimit[1] != Double.POSITIVE_INFINITY) {
            throw s.unsupported(
                    "dt_limit",
                    "[" + dtLimit[0] + ", " + dtLimit[1] + "]",
                    "only the default [0.0, Infinity] (no clamping of dt) is supported");
        }
        // Older mamba_ssm versions took an activation argument; "silu" and "swish" are both SiLU.
        String activation = s.string("activation", "swish");
        if (!activation.equals("swish") && !activation.equals("silu")) {
            throw s.unsupported(
                    "activation",
                    "\"" + activation + "\"",
                    "only \"swish\" or \"silu\" (the same function) is supported");
        }
        s.rejectUnknown();
        return b.build();
    }

    /**
     * A RetNet layer's ssm_cfg: num_heads (required), value_factor, group_norm, gate, group_norm_eps and chunk_size;
     * any other field (Mamba2's included) is refused as unknown.
     */
    private static SsmConfig parseRetNet(JsonFields s) throws MalformedConfigException {
        Integer heads = s.nullableInteger("num_heads");
        if (heads == null) {
            throw s.invalid(
                    "num_heads",
                    "is missing: a \"" + RetNetConfig.LAYER + "\" layer needs its number of" + " retention heads");
        }
        RetNetConfig r = RetNetConfig.of(heads);
        r = r.withValueFactor(s.integer("value_factor", r.valueFactor()))
                .withGroupNorm(s.bool("group_norm", r.groupNorm()))
                .withGate(s.bool("gate", r.gate()))
                .withGroupNormEps(s.number("group_norm_eps", r.groupNormEps()));
        int chunkSize = s.integer("chunk_size", SsmConfig.DEFAULTS.chunkSize());
        s.rejectUnknown();
        return SsmConfig.builder().retNet(r).chunkSize(chunkSize).build();
    }

    /** The fields {@link #parseRetNet} reads. */
    private static void putRetNet(ObjectNode ssm, SsmConfig s) {
        RetNetConfig r = s.retNet();
        ssm.put("num_heads", r.numHeads());
        ssm.put("value_factor", r.valueFactor());
        ssm.put("group_norm", r.groupNorm());
        ssm.put("gate", r.gate());
        ssm.put("group_norm_eps", r.groupNormEps());
        ssm.put("chunk_size", s.chunkSize());
    }

    /**
     * ssm_cfg of an S4D layer: d_state (default 64, S4D's), init (lin, inv, real or legs; default lin), dt_min and
     * dt_max (the log-uniform range of Δ; defaults 0.001 and 0.1) and chunk_size (the kernel block length; default
     * 256). Any other field is refused by name: the Mamba2 fields do not apply to S4D.
     */
    private static SsmConfig parseS4d(JsonFields s) throws MalformedConfigException {
        SsmConfig d = SsmConfig.DEFAULTS;
        String init = s.string("init", S4dConfig.DEFAULTS.init().jsonName());
        S4dConfig.Init kind;
        try {
            kind = S4dConfig.Init.of(init);
        } catch (IllegalArgumentException e) {
            throw s.unsupported("init", "\"" + init + "\"", "expected one of " + S4dConfig.Init.names());
        }
        SsmConfig.Builder b = SsmConfig.builder()
                .layer(S4dConfig.LAYER)
                .dState(s.integer("d_state", 64))
                .dtMin(s.number("dt_min", d.dtMin()))
                .dtMax(s.number("dt_max", d.dtMax()))
                .chunkSize(s.integer("chunk_size", d.chunkSize()))
                .s4d(new S4dConfig(kind));
        s.rejectUnknown();
        return b.build();
    }

    /**
     * ssm_cfg are the keyword arguments of mamba_ssm's Mamba (modules/mamba_simple.py, Mamba.__init__), which takes
     * them as **ssm_cfg: a Mamba2 argument there is an unexpected keyword (a TypeError), so it is refused by name.
     */
    private static final List<String> MAMBA2_ONLY = List.of(
            "headdim",
            "d_ssm",
            "ngroups",
            "A_init_range",
            "D_has_hdim",
            "rmsnorm",
            "norm_before_gate",
            "dt_limit",
            "chunk_size",
            "use_mem_eff_path",
            "conv_init",
            "activation",
            "sequence_parallel");

    private static SsmConfig parseMamba1(JsonFields s) throws MalformedConfigException {
        for (String key : MAMBA2_ONLY) {
            if (s.raw(key) != null) {
                throw s.invalid(
                        key,
                        "is an argument of mamba_ssm's Mamba2 only; mamba_ssm's Mamba (ssm_cfg.layer"
                                + " \"Mamba1\", also when no layer is named) has no such argument and refuses it");
            }
        }
        SsmConfig d = SsmConfig.MAMBA1_DEFAULTS;
        int dConv = s.integer("d_conv", d.dConv());
        if (dConv < 2) {
            throw s.unsupported("d_conv", dConv, "ssm-spark's causal conv needs a kernel of at least 2");
        }
        String dtInit = s.string("dt_init", d.dtInit());
        if (!dtInit.equals("random") && !dtInit.equals("constant")) {
            // mamba_ssm's Mamba raises NotImplementedError for any other value
            throw s.unsupported("dt_init", "\"" + dtInit + "\"", "only \"random\" or \"constant\" (mamba_ssm's two)");
        }
        double dtScale = s.number("dt_scale", d.dtScale());
        if (!(dtScale >= 0) || !Double.isFinite(dtScale)) {
            throw s.unsupported("dt_scale", dtScale, "only a finite number >= 0 is supported");
        }
        SsmConfig.Builder b = SsmConfig.mamba1Builder()
                .dState(s.integer("d_state", d.dState()))
                .dConv(dConv)
                .expand(s.integer("expand", d.expand()))
                .dtRank(dtRank(s))
                .dtMin(s.number("dt_min", d.dtMin()))
                .dtMax(s.number("dt_max", d.dtMax()))
                .dtInit(dtInit)
                .dtScale(dtScale)
                .dtInitFloor(s.number("dt_init_floor", d.dtInitFloor()))
                .convBias(s.bool("conv_bias", d.convBias()))
                .bias(s.bool("bias", d.bias()))
                .useFastPath(s.bool("use_fast_path", d.useFastPath()));
        s.rejectUnknown();
        return b.build();
    }

    /** Mamba1's dt_rank: "auto" (null) or an integer >= 1. */
    private static Integer dtRank(JsonFields s) throws MalformedConfigException {
        com.fasterxml.jackson.databind.JsonNode v = s.raw("dt_rank");
        if (v == null || (v.isTextual() && v.textValue().equals("auto"))) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw s.invalid("dt_rank", "must be \"auto\" or an integer >= 1, found " + v);
        }
        return v.intValue();
    }

    private static AttnConfig parseAttn(JsonFields a, boolean used) throws MalformedConfigException {
        AttnConfig d = AttnConfig.DEFAULTS;
        AttnConfig.Builder b = AttnConfig.builder()
                .numHeads(a.nullableInteger("num_heads"))
                .numHeadsKv(a.nullableInteger("num_heads_kv"))
                .headDim(a.nullableInteger("head_dim"))
                .rotaryEmbDim(a.integer("rotary_emb_dim", d.rotaryEmbDim()))
                .rotaryEmbBase(a.number("rotary_emb_base", d.rotaryEmbBase()))
                .qkvProjBias(a.bool("qkv_proj_bias", d.qkvProjBias()))
                .outProjBias(a.bool("out_proj_bias", d.outProjBias()))
                .softmaxScale(a.nullableNumber("softmax_scale"))
                .windowSize(a.nullableInteger("window_size"));
        int mlpDim = a.integer("mlp_dim", 0);
        if (mlpDim != 0) {
            throw a.unsupported("mlp_dim", mlpDim, "only 0 is supported (use d_intermediate for a GatedMLP)");
        }
        int dConv = a.integer("d_conv", 0);
        if (dConv != 0) {
            throw a.unsupported("d_conv", dConv, "only 0 is supported (no convolution inside attention)");
        }
        // ssm-spark's contract (DESIGN.md): attention is causal softmax, so a missing "causal" means true
        // (mamba_ssm's own MHA would default to false; toJson always writes "causal": true explicitly).
        if (!a.bool("causal", true)) {
            throw a.unsupported("causal", false, "only causal attention is supported");
        }
        if (a.bool("rotary_emb_interleaved", false)) {
            throw a.unsupported(
                    "rotary_emb_interleaved",
                    true,
                    "only the non-interleaved (half-split) rotary embedding is supported");
        }
        a.rejectUnknown();
        return b.build();
    }

    static String toJson(MambaConfig c) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("d_model", c.dModel());
        root.put("d_intermediate", c.dIntermediate());
        root.put("n_layer", c.nLayer());
        root.put("vocab_size", c.vocabSize());

        SsmConfig s = c.ssm();
        ObjectNode ssm = MAPPER.createObjectNode();
        ssm.put("layer", s.layer());
        if (s.retNet() != null) {
            putRetNet(ssm, s);
        } else if (s.s4d() != null) {
            putS4d(ssm, s);
        } else {
            putMamba2(ssm, s);
        }
        root.set("ssm_cfg", s.isMamba1() ? mamba1Json(s) : ssm);

        ArrayNode idx = root.putArray("attn_layer_idx");
        c.attnLayerIdx().forEach(idx::add);

        AttnConfig a = c.attn();
        ObjectNode attn = root.putObject("attn_cfg");
        putNullable(attn, "num_heads", a.numHeads());
        putNullable(attn, "num_heads_kv", a.numHeadsKv());
        putNullable(attn, "head_dim", a.headDim());
        attn.put("mlp_dim", 0);
        attn.put("qkv_proj_bias", a.qkvProjBias());
        attn.put("out_proj_bias", a.outProjBias());
        if (a.softmaxScale() == null) {
            attn.putNull("softmax_scale");
        } else {
            attn.put("softmax_scale", a.softmaxScale());
        }
        attn.put("causal", true);
        attn.put("d_conv", 0);
        attn.put("rotary_emb_dim", a.rotaryEmbDim());
        attn.put("rotary_emb_base", a.rotaryEmbBase());
        attn.put("rotary_emb_interleaved", false);
        // window_size is ssm-spark's extension and not an argument of mamba_ssm's MHA: it is written only
        // when set, so that a full-attention config stays loadable by mamba_ssm itself.
        if (a.windowSize() != null) {
            attn.put("window_size", a.windowSize());
        }

        root.put("rms_norm", c.rmsNorm());
        // mamba_ssm's MambaConfig has no norm_epsilon field (MixerModel always uses 1e-5), and
        // MambaConfig(**config) refuses unknown keys, so only a non-default epsilon is written.
        if (c.normEpsilon() != MambaConfig.DEFAULT_NORM_EPSILON) {
            root.put("norm_epsilon", c.normEpsilon());
        }
        root.put("residual_in_fp32", c.residualInFp32());
        root.put("fused_add_norm", c.fusedAddNorm());
        root.put("pad_vocab_size_multiple", c.padVocabSizeMultiple());
        root.put("tie_embeddings", c.tieEmbeddings());
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a JSON tree of plain values", e);
        }
    }

    /** A Mamba2 layer's ssm_cfg fields after "layer". */
    private static void putMamba2(ObjectNode ssm, SsmConfig s) {
        ssm.put("d_state", s.dState());
        ssm.put("d_conv", s.dConv());
        ssm.put("expand", s.expand());
        ssm.put("headdim", s.headdim());
        ssm.putNull("d_ssm");
        ssm.put("ngroups", s.ngroups());
        ssm.putArray("A_init_range").add(s.aInitMin()).add(s.aInitMax());
        ssm.put("D_has_hdim", s.dHasHdim());
        ssm.put("rmsnorm", s.rmsnorm());
        ssm.put("norm_before_gate", s.normBeforeGate());
        ssm.put("dt_min", s.dtMin());
        ssm.put("dt_max", s.dtMax());
        ssm.put("dt_init_floor", s.dtInitFloor());
        // dt_limit is left out on purpose: its only supported value, [0.0, inf], has no standard JSON form.
        ssm.put("bias", false);
        ssm.put("conv_bias", true);
        ssm.put("chunk_size", s.chunkSize());
        ssm.put("use_mem_eff_path", s.useMemEffPath());
        if (s.convInit() == null) {
            ssm.putNull("conv_init");
        } else {
            ssm.put("conv_init", s.convInit());
        }
    }

    /** ssm_cfg of a Mamba1 layer: every argument of mamba_ssm's Mamba, explicitly (dt_rank "auto" or its value). */
    private static ObjectNode mamba1Json(SsmConfig s) {
        ObjectNode ssm = MAPPER.createObjectNode();
        ssm.put("layer", s.layer());
        ssm.put("d_state", s.dState());
        ssm.put("d_conv", s.dConv());
        ssm.put("expand", s.expand());
        if (s.dtRank() == null) {
            ssm.put("dt_rank", "auto");
        } else {
            ssm.put("dt_rank", s.dtRank());
        }
        ssm.put("dt_min", s.dtMin());
        ssm.put("dt_max", s.dtMax());
        ssm.put("dt_init", s.dtInit());
        ssm.put("dt_scale", s.dtScale());
        ssm.put("dt_init_floor", s.dtInitFloor());
        ssm.put("conv_bias", s.convBias());
        ssm.put("bias", s.bias());
        ssm.put("use_fast_path", s.useFastPath());
        return ssm;
    }

    /** ssm_cfg of an S4D layer: only the fields S4D reads. */
    private static void putS4d(ObjectNode ssm, SsmConfig s) {
        ssm.put("d_state", s.dState());
        ssm.put("init", s.s4d().init().jsonName());
        ssm.put("dt_min", s.dtMin());
        ssm.put("dt_max", s.dtMax());
        ssm.put("chunk_size", s.chunkSize());
    }

    private static void putNullable(ObjectNode node, String key, Integer value) {
        if (value == null) {
            node.putNull(key);
        } else {
            node.put(key, value);
        }
    }
}
