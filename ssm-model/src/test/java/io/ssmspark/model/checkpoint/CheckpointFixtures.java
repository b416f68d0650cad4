package io.ssmspark.model.checkpoint;

import io.ssmspark.model.checkpoint.hf.HfMamba2Names;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.ModelInit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Checkpoint directories in the layouts users hold, written by test code: mamba_ssm's {@code save_pretrained}
 * (config.json + pytorch_model.bin through {@link TorchZipWriter}) and transformers' Mamba2ForCausalLM (config.json
 * in transformers' field names + model.safetensors or shards + model.safetensors.index.json), in F32, F16 or BF16.
 */
public final class CheckpointFixtures {
    private CheckpointFixtures() {}

    /** mamba_ssm's initialisation plus N(0, 0.2²) noise, every value rounded to the nearest bfloat16. */
    public static Map<String, INDArray> bf16ExactWeights(MambaConfig c, long seed) {
        return rounded(c, seed, TestEncodings::roundToBf16);
    }

    /** As {@link #bf16ExactWeights}, rounded to the nearest float16 instead. */
    public static Map<String, INDArray> f16ExactWeights(MambaConfig c, long seed) {
        return rounded(c, seed, v -> TestEncodings.roundToF16(v));
    }

    private static Map<String, INDArray> rounded(
            MambaConfig c, long seed, java.util.function.DoubleUnaryOperator round) {
        INDArray flat = ModelInit.initialize(c, seed, DataType.DOUBLE);
        Random rnd = new Random(seed + 1);
        double[] v = flat.toDoubleVector();
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) round.applyAsDouble((float) (v[i] + 0.2 * rnd.nextGaussian()));
        }
        CheckpointSchema schema = CheckpointSchema.of(c);
        Map<String, INDArray> views = schema.unflatten(Nd4j.createFromArray(out));
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        views.forEach((k, t) -> tensors.put(k, t.dup('c')));
        return tensors;
    }

    /** The flat parameter vector of schema-named tensors. */
    public static INDArray flat(MambaConfig c, Map<String, INDArray> tensors, DataType type) {
        return CheckpointSchema.of(c).flatten(tensors, type);
    }

    static TorchZipWriter.Dtype torchDtype(String dtype) {
        return switch (dtype) {
            case "F64" -> TorchZipWriter.Dtype.F64;
            case "F32" -> TorchZipWriter.Dtype.F32;
            case "F16" -> TorchZipWriter.Dtype.F16;
            case "BF16" -> TorchZipWriter.Dtype.BF16;
            default -> throw new IllegalArgumentException(dtype);
        };
    }

    // ---- mamba_ssm save_pretrained ---------------------------------------------------------------------------

    /**
     * mamba_ssm's {@code save_pretrained}: config.json (the config's fields) and pytorch_model.bin, the state dict
     * in schema order, each tensor with its own storage, plus, for a tied config, {@code lm_head.weight} sharing the
     * embedding's storage as it does in MambaLMHeadModel's state_dict.
     */
    public static void writeMambaSsmBin(Path dir, MambaConfig c, Map<String, INDArray> tensors, String dtype)
            throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(Checkpoint.CONFIG_FILE), c.toJson());
        TorchZipWriter.write(
                dir.resolve(CheckpointLayout.BIN_FILE), stateDict(c, tensors, dtype), TorchZipWriter.Options.DEFAULT);
    }

    /** The state-dict entries of {@link #writeMambaSsmBin}. */
    public static List<TorchZipWriter.Tensor> stateDict(MambaConfig c, Map<String, INDArray> tensors, String dtype) {
        List<TorchZipWriter.Tensor> out = new ArrayList<>();
        TorchZipWriter.Storage embedding = null;
        int key = 0;
        for (TensorSpec t : CheckpointSchema.of(c).tensors()) {
            TorchZipWriter.Storage s = TorchZipWriter.Storage.of(
                    String.valueOf(key++),
                    torchDtype(dtype),
                    TestEncodings.encode(tensors.get(t.name()), dtype, ByteOrder.LITTLE_ENDIAN));
            out.add(TorchZipWriter.Tensor.contiguous(t.name(), s, t.shape()));
            if (t.name().equals(CheckpointSchema.EMBEDDING)) {
                embedding = s;
            }
        }
        if (c.tieEmbeddings()) {
            out.add(TorchZipWriter.Tensor.contiguous(
                    CheckpointSchema.LM_HEAD,
                    embedding,
                    CheckpointSchema.of(c).get(CheckpointSchema.EMBEDDING).shape()));
        }
        return out;
    }

    // ---- safetensors in any dtype ----------------------------------------------------------------------------

    /** A safetensors file (names sorted, header padded to 8 bytes, metadata format=pt) of one element type. */
    public static void writeSafetensors(Path file, Map<String, INDArray> tensors, String dtype) throws IOException {
        Map<String, INDArray> sorted = new TreeMap<>(tensors);
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, INDArray> e : sorted.entrySet()) {
            byte[] b = TestEncodings.encode(e.getValue(), dtype, ByteOrder.LITTLE_ENDIAN);
            header.append(",\"")
                    .append(e.getKey())
                    .append("\":{\"dtype\":\"")
                    .append(dtype)
                    .append("\",\"shape\":")
                    .append(java.util.Arrays.toString(e.getValue().shape()).replace(" ", ""))
                    .append(",\"data_offsets\":[")
                    .append(data.size())
                    .append(',')
                    .append(data.size() + b.length)
                    .append("]}");
            data.write(b, 0, b.length);
        }
        header.append('}');
        while (header.length() % 8 != 0) {
            header.append(' ');
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data.toByteArray());
        Files.write(file, out.array());
    }

    // ---- transformers Mamba2ForCausalLM ----------------------------------------------------------------------

    /**
     * config.json of transformers' Mamba2ForCausalLM for a pure Mamba-2 config (no MLP, RMSNorm, eps 1e-5), as
     * transformers 4.x writes it; vocab_size is the config's padded vocabulary (the embedding's rows). Each override
     * replaces a field's raw JSON, or removes the field when its value is null.
     */
    public static String transformersConfigJson(MambaConfig c, Map<String, String> overrides) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("architectures", "[\"Mamba2ForCausalLM\"]");
        f.put("bos_token_id", "0");
        f.put("chunk_size", String.valueOf(c.ssm().chunkSize()));
        f.put("conv_kernel", String.valueOf(c.ssm().dConv()));
        f.put("eos_token_id", "0");
        f.put("expand", String.valueOf(c.ssm().expand()));
        f.put("head_dim", String.valueOf(c.ssm().headdim()));
        f.put("hidden_act", "\"silu\"");
        f.put("hidden_size", String.valueOf(c.dModel()));
        f.put("initializer_range", "0.1");
        f.put("layer_norm_epsilon", "1e-05");
        f.put("model_type", "\"mamba2\"");
        f.put("n_groups", String.valueOf(c.ssm().ngroups()));
        f.put("num_heads", String.valueOf(c.nHeads()));
        f.put("num_hidden_layers", String.valueOf(c.nLayer()));
        f.put("pad_token_id", "0");
        f.put("rescale_prenorm_residual", "false");
        f.put("residual_in_fp32", "true");
        f.put("rms_norm", "true");
        f.put("state_size", String.valueOf(c.ssm().dState()));
        f.put("tie_word_embeddings", String.valueOf(c.tieEmbeddings()));
        f.put("time_step_floor", "0.0001");
        f.put("time_step_limit", "[0.0, Infinity]");
        f.put("time_step_max", "0.1");
        f.put("time_step_min", "0.001");
        f.put("time_step_rank", String.valueOf((c.dModel() + 15) / 16));
        f.put("torch_dtype", "\"bfloat16\"");
        f.put("transformers_version", "\"4.44.0\"");
        f.put("use_bias", "false");
        f.put("use_cache", "true");
        f.put("use_conv_bias", "true");
        f.put("vocab_size", String.valueOf(c.paddedVocabSize()));
        overrides.forEach((k, v) -> {
            if (v == null) {
                f.remove(k);
            } else {
                f.put(k, v);
            }
        });
        StringBuilder b = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, String> e : f.entrySet()) {
            b.append("  \"")
                    .append(e.getKey())
                    .append("\": ")
                    .append(e.getValue())
                    .append(++i < f.size() ? ",\n" : "\n");
        }
        return b.append("}\n").toString();
    }

    /**
     * A transformers Mamba2ForCausalLM directory: config.json and the tensors under transformers' names (the
     * tied head left out, as save_pretrained drops shared tensors), in one model.safetensors when {@code shards} is
     * 1, else in {@code shards} files model-0000k-of-0000n.safetensors (schema order, split evenly) with
     * model.safetensors.index.json.
     */
    public static void writeTransformersMamba2(
            Path dir,
            MambaConfig c,
            Map<String, INDArray> tensors,
            String dtype,
            int shards,
            Map<String, String> configOverrides)
            throws IOException {
        writeTransformers(dir, transformersConfigJson(c, configOverrides), c, tensors, dtype, shards);
    }

    /**
     * config.json of transformers' MambaForCausalLM (Mamba-1) for a pure Mamba1 config with RMSNorm, as
     * transformers 4.x save_pretrained writes mamba-130m-hf's (every MambaConfig attribute, intermediate_size and
     * the resolved time_step_rank included); vocab_size is the config's padded vocabulary. Overrides as {@link
     * #transformersConfigJson}.
     */
    public static String transformersMambaConfigJson(MambaConfig c, Map<String, String> overrides) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("architectures", "[\"MambaForCausalLM\"]");
        f.put("bos_token_id", "0");
        f.put("conv_kernel", String.valueOf(c.ssm().dConv()));
        f.put("eos_token_id", "0");
        f.put("expand", String.valueOf(c.ssm().expand()));
        f.put("hidden_act", "\"silu\"");
        f.put("hidden_size", String.valueOf(c.dModel()));
        f.put("initializer_range", "0.1");
        f.put("intermediate_size", String.valueOf(c.dInner()));
        f.put("layer_norm_epsilon", String.valueOf(c.normEpsilon()));
        f.put("model_type", "\"mamba\"");
        f.put("num_hidden_layers", String.valueOf(c.nLayer()));
        f.put("pad_token_id", "0");
        f.put("rescale_prenorm_residual", "false");
        f.put("residual_in_fp32", String.valueOf(c.residualInFp32()));
        f.put("state_size", String.valueOf(c.ssm().dState()));
        f.put("tie_word_embeddings", String.valueOf(c.tieEmbeddings()));
        f.put("time_step_floor", "0.0001");
        f.put("time_step_init_scheme", "\"random\"");
        f.put("time_step_max", "0.1");
        f.put("time_step_min", "0.001");
        f.put("time_step_rank", String.valueOf(c.ssm().dtRankFor(c.dModel())));
        f.put("time_step_scale", "1.0");
        f.put("torch_dtype", "\"bfloat16\"");
        f.put("transformers_version", "\"4.39.0.dev0\"");
        f.put("use_bias", String.valueOf(c.ssm().bias()));
        f.put("use_cache", "true");
        f.put("use_conv_bias", String.valueOf(c.ssm().convBias()));
        f.put("use_mambapy", "false");
        f.put("vocab_size", String.valueOf(c.paddedVocabSize()));
        return json(f, overrides);
    }

    private static String json(Map<String, String> f, Map<String, String> overrides) {
        overrides.forEach((k, v) -> {
            if (v == null) {
                f.remove(k);
            } else {
                f.put(k, v);
            }
        });
        StringBuilder b = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, String> e : f.entrySet()) {
            b.append("  \"")
                    .append(e.getKey())
                    .append("\": ")
                    .append(e.getValue())
                    .append(++i < f.size() ? ",\n" : "\n");
        }
        return b.append("}\n").toString();
    }

    /**
     * A transformers directory: the given config.json and the config's tensors under transformers' names (as
     * {@link #writeTransformersMamba2}).
     */
    public static void writeTransformers(
            Path dir, String configJson, MambaConfig c, Map<String, INDArray> tensors, String dtype, int shards)
            throws IOException {
        Map<String, INDArray> stored = new LinkedHashMap<>();
        for (TensorSpec t : CheckpointSchema.of(c).tensors()) {
            stored.put(HfMamba2Names.toTransformers(t.name()), tensors.get(t.name()));
        }
        writeStored(dir, configJson, stored, dtype, shards);
    }

    /**
     * config.json of transformers' BambaForCausalLM (configuration_bamba.py, as 4.x writes it) for a hybrid of
     * Mamba2 and attention layers, each with a GatedMLP; overrides as {@link #transformersConfigJson}.
     */
    public static String transformersBambaConfigJson(MambaConfig c, Map<String, String> overrides) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("architectures", "[\"BambaForCausalLM\"]");
        f.put("attention_bias", "false");
        f.put("attention_dropout", "0.0");
        f.put("attn_layer_indices", c.attnLayerIdx().toString().replace(" ", ""));
        f.put("bos_token_id", "1");
        f.put("eos_token_id", "2");
        f.put("hidden_act", "\"silu\"");
        f.put("hidden_size", String.valueOf(c.dModel()));
        f.put("initializer_range", "0.02");
        f.put("intermediate_size", String.valueOf(c.mlpHidden()));
        f.put("mamba_chunk_size", String.valueOf(c.ssm().chunkSize()));
        f.put("mamba_conv_bias", "true");
        f.put("mamba_d_conv", String.valueOf(c.ssm().dConv()));
        f.put("mamba_d_head", String.valueOf(c.ssm().headdim()));
        f.put("mamba_d_state", String.valueOf(c.ssm().dState()));
        f.put("mamba_expand", String.valueOf(c.ssm().expand()));
        f.put("mamba_n_groups", String.valueOf(c.ssm().ngroups()));
        f.put("mamba_n_heads", String.valueOf(c.nHeads()));
        f.put("mamba_proj_bias", "false");
        f.put("max_position_embeddings", "262144");
        f.put("mlp_bias", "false");
        f.put("model_type", "\"bamba\"");
        f.put("num_attention_heads", String.valueOf(c.attnNumHeads()));
        f.put("num_hidden_layers", String.valueOf(c.nLayer()));
        f.put("num_key_value_heads", String.valueOf(c.attnNumHeadsKv()));
        f.put("num_logits_to_keep", "1");
        f.put("pad_token_id", "0");
        f.put("partial_rotary_factor", String.valueOf((double) c.attn().rotaryEmbDim() / c.attnHeadDim()));
        f.put("rms_norm_eps", "1e-05");
        f.put("rope_scaling", "null");
        f.put("rope_theta", String.valueOf(c.attn().rotaryEmbBase()));
        f.put("tie_word_embeddings", String.valueOf(c.tieEmbeddings()));
        f.put("time_step_limit", "[0.0, Infinity]");
        f.put("time_step_max", "0.1");
        f.put("time_step_min", "0.001");
        f.put("torch_dtype", "\"bfloat16\"");
        f.put("transformers_version", "\"4.48.0\"");
        f.put("use_cache", "true");
        f.put("vocab_size", String.valueOf(c.paddedVocabSize()));
        f.put("z_loss_coefficient", "0.0");
        return json(f, overrides);
    }

    /**
     * A transformers BambaForCausalLM directory: the config's tensors under Bamba's names, an attention layer's
     * in_proj split into q/k/v_proj and every fc1 into up_proj (its first half of rows) and gate_proj.
     */
    public static void writeTransformersBamba(
            Path dir,
            MambaConfig c,
            Map<String, INDArray> tensors,
            String dtype,
            int shards,
            Map<String, String> overrides)
            throws IOException {
        Map<String, INDArray> stored = new LinkedHashMap<>();
        for (TensorSpec t : CheckpointSchema.of(c).tensors()) {
            INDArray w = tensors.get(t.name());
            List<Long> parts = io.ssmspark.model.checkpoint.hf.HfBambaNames.partRows(t.name(), c);
            if (parts == null) {
                stored.put(io.ssmspark.model.checkpoint.hf.HfBambaNames.toStored(t.name(), c), w);
                continue;
            }
            long offset = 0;
            for (int k = 0; k < parts.size(); k++) {
                INDArray part = w.get(
                                org.nd4j.linalg.indexing.NDArrayIndex.interval(offset, offset + parts.get(k)),
                                org.nd4j.linalg.indexing.NDArrayIndex.all())
                        .dup('c');
                stored.put(io.ssmspark.model.checkpoint.hf.HfBambaNames.toStored(t.name() + "#" + k, c), part);
                offset += parts.get(k);
            }
        }
        writeStored(dir, transformersBambaConfigJson(c, overrides), stored, dtype, shards);
    }

    /** config.json and the stored tensors (in order) in one model.safetensors, or in shards with an index. */
    public static void writeStored(Path dir, String configJson, Map<String, INDArray> stored, String dtype, int shards)
            throws IOException {
        writeStored(dir, configJson, stored, dtype, shards, false);
    }

    /**
     * As {@link #writeStored(Path, String, Map, String, int)}, or with {@code torchBin} as save_pretrained writes
     * without safetensors: pytorch_model-0000k-of-0000n.bin shards (torch.save zips) and pytorch_model.bin.index.json.
     */
    public static void writeStored(
            Path dir, String configJson, Map<String, INDArray> stored, String dtype, int shards, boolean torchBin)
            throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(Checkpoint.CONFIG_FILE), configJson);
        List<String> names = new ArrayList<>(stored.keySet());
        if (shards == 1 && !torchBin) {
            writeSafetensors(dir.resolve(Checkpoint.MODEL_FILE), stored, dtype);
            return;
        }
        StringBuilder weightMap = new StringBuilder();
        long totalBytes = 0;
        int per = (names.size() + shards - 1) / shards;
        for (int s = 0; s < shards; s++) {
            String file = torchBin
                    ? String.format(Locale.ROOT, "pytorch_model-%05d-of-%05d.bin", s + 1, shards)
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", s + 1, shards);
            Map<String, INDArray> part = new LinkedHashMap<>();
            for (int i = s * per; i < Math.min(names.size(), (s + 1) * per); i++) {
                String hfName = names.get(i);
                part.put(hfName, stored.get(hfName));
                weightMap
                        .append(weightMap.length() > 0 ? ",\n" : "")
                        .append("    \"")
                        .append(hfName)
                        .append("\": \"")
                        .append(file)
                        .append('"');
                totalBytes += stored.get(hfName).length() * (dtype.equals("F32") ? 4 : 2);
            }
            if (torchBin) {
                List<TorchZipWriter.Tensor> tensors = new ArrayList<>();
                int key = 0;
                for (Map.Entry<String, INDArray> e : part.entrySet()) {
                    TorchZipWriter.Storage storage = TorchZipWriter.Storage.of(
                            String.valueOf(key++),
                            torchDtype(dtype),
                            TestEncodings.encode(e.getValue(), dtype, ByteOrder.LITTLE_ENDIAN));
                    tensors.add(TorchZipWriter.Tensor.contiguous(
                            e.getKey(), storage, e.getValue().shape()));
                }
                TorchZipWriter.write(dir.resolve(file), tensors, TorchZipWriter.Options.DEFAULT);
            } else {
                writeSafetensors(dir.resolve(file), part, dtype);
            }
        }
        Files.writeString(
                dir.resolve(torchBin ? CheckpointLayout.BIN_INDEX : CheckpointLayout.SAFETENSORS_INDEX),
                "{\n  \"metadata\": {\n    \"total_size\": " + totalBytes + "\n  },\n  \"weight_map\": {\n" + weightMap
                        + "\n  }\n}\n");
    }
}
