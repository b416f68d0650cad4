package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * transformers' Mamba2ForCausalLM layout (transformers' config fields and tensor names, one file or shards with an
 * index, BF16 on disk) loads into the model the mamba_ssm layout of the same weights gives: same parameters, same
 * logits, bit for bit.
 */
class TransformersMamba2CheckpointTest {
    @TempDir
    Path dir;

    /** 2 Mamba-2 layers, 2 groups of 2 heads, RMSNorm, untied head, vocab 13 padded to 16 (transformers: 16). */
    static MambaConfig original(boolean tied) {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(2)
                        .chunkSize(4)
                        .build())
                .tieEmbeddings(tied)
                .build();
    }

    private static void assertSameModel(LoadedCheckpoint mambaSsm, LoadedCheckpoint transformers) {
        assertEquals(mambaSsm.config().paddedVocabSize(), transformers.config().paddedVocabSize());
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            assertArrayEquals(
                    mambaSsm.flatParameters(type).toDoubleVector(),
                    transformers.flatParameters(type).toDoubleVector(),
                    0.0,
                    type + " parameters");
            int vocab = mambaSsm.config().vocabSize(); // ids valid in both (transformers' vocab_size is the padded one)
            float[] expected = MambaSsmBinCheckpointTest.logits(mambaSsm, type, vocab);
            assertEquals(2 * 11 * 16, expected.length);
            assertArrayEquals(
                    expected, MambaSsmBinCheckpointTest.logits(transformers, type, vocab), 0f, type + " logits");
        }
    }

    @Test
    void twoBf16ShardsGiveTheLogitsOfTheMambaSsmOriginal() throws IOException {
        MambaConfig c = original(false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 21);
        Path mambaSsm = dir.resolve("mamba_ssm");
        CheckpointFixtures.writeMambaSsmBin(mambaSsm, c, w, "BF16");
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(hf, c, w, "BF16", 2, Map.of());

        CheckpointLayout layout = CheckpointLayout.detect(hf);
        assertEquals(CheckpointLayout.Kind.TRANSFORMERS, layout.kind());
        assertEquals(hf.resolve(CheckpointLayout.SAFETENSORS_INDEX), layout.indexFile());
        assertEquals(
                List.of(hf.resolve("model-00001-of-00002.safetensors"), hf.resolve("model-00002-of-00002.safetensors")),
                layout.weightFiles());
        assertEquals("bfloat16", layout.transformers().declaredDtype());
        assertEquals("4.44.0", layout.transformers().transformersVersion());

        LoadedCheckpoint loaded = Checkpoint.load(hf, DataType.FLOAT);
        MambaConfig mapped = loaded.config();
        assertEquals(16, mapped.vocabSize());
        assertEquals(1, mapped.padVocabSizeMultiple());
        assertEquals(c.toBuilder().vocabSize(16).padVocabSizeMultiple(1).build(), mapped);
        assertEquals(mapped, Checkpoint.readConfig(hf));
        assertSameModel(Checkpoint.load(mambaSsm, DataType.FLOAT), loaded);
    }

    /**
     * save_pretrained(safe_serialization=False) of a sharded model: pytorch_model-0000k-of-00002.bin shards (torch
     * zips, BF16) and pytorch_model.bin.index.json load exactly as the safetensors shards of the same tensors.
     */
    @Test
    void twoBinShardsWithTheirIndexLoadAsTheSafetensorsShards() throws IOException {
        MambaConfig c = original(false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 23);
        Map<String, INDArray> stored = new LinkedHashMap<>();
        for (TensorSpec t : CheckpointSchema.of(c).tensors()) {
            stored.put(io.ssmspark.model.checkpoint.hf.HfMamba2Names.toTransformers(t.name()), w.get(t.name()));
        }
        String config = CheckpointFixtures.transformersConfigJson(c, Map.of());
        Path safetensors = dir.resolve("hf-safetensors-shards");
        CheckpointFixtures.writeStored(safetensors, config, stored, "BF16", 2, false);
        Path bin = dir.resolve("hf-bin-shards");
        CheckpointFixtures.writeStored(bin, config, stored, "BF16", 2, true);

        CheckpointLayout layout = CheckpointLayout.detect(bin);
        assertEquals(CheckpointLayout.Kind.TRANSFORMERS, layout.kind());
        assertEquals(bin.resolve(CheckpointLayout.BIN_INDEX), layout.indexFile());
        assertEquals(
                List.of(
                        bin.resolve("pytorch_model-00001-of-00002.bin"),
                        bin.resolve("pytorch_model-00002-of-00002.bin")),
                layout.weightFiles());
        LoadedCheckpoint expected = Checkpoint.load(safetensors, DataType.FLOAT);
        LoadedCheckpoint loaded = Checkpoint.load(bin, DataType.FLOAT);
        assertEquals(expected.config(), loaded.config());
        assertSameModel(expected, loaded);

        Files.delete(bin.resolve("pytorch_model-00002-of-00002.bin"));
        IOException e = assertThrows(IOException.class, () -> Checkpoint.load(bin, DataType.FLOAT));
        assertTrue(e.getMessage().contains("pytorch_model-00002-of-00002.bin"), e.getMessage());
    }

    /**
     * transformers 5.x spellings (dtype for torch_dtype, infinity as {"__float__": "Infinity"}, layer_types), a tied
     * head left out of a single model.safetensors, as save_pretrained writes it.
     */
    @Test
    void fiveDotXSpellingsAndATiedHeadInOneFile() throws IOException {
        MambaConfig c = original(true);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 22);
        Path mambaSsm = dir.resolve("mamba_ssm");
        CheckpointFixtures.writeMambaSsmBin(mambaSsm, c, w, "BF16");
        Path hf = dir.resolve("hf");
        Map<String, String> v5 = new HashMap<>();
        v5.put("torch_dtype", null);
        v5.put("dtype", "\"bfloat16\"");
        v5.put("time_step_limit", "[0.0, {\"__float__\": \"Infinity\"}]");
        v5.put("layer_types", "[\"mamba\", \"mamba\"]");
        v5.put("transformers_version", "\"5.0.0\"");
        v5.put("architectures", null); // model_type alone identifies it
        CheckpointFixtures.writeTransformersMamba2(hf, c, w, "BF16", 1, v5);
        LoadedCheckpoint loaded = Checkpoint.load(hf, DataType.FLOAT);
        assertTrue(loaded.config().tieEmbeddings());
        assertEquals("bfloat16", CheckpointLayout.detect(hf).transformers().declaredDtype());
        assertSameModel(Checkpoint.load(mambaSsm, DataType.FLOAT), loaded);

        // an lm_head.weight beside a tied embedding must equal it
        Map<String, INDArray> withHead = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : w.entrySet()) {
            withHead.put(io.ssmspark.model.checkpoint.hf.HfMamba2Names.toTransformers(e.getKey()), e.getValue());
        }
        withHead.put("lm_head.weight", w.get(CheckpointSchema.EMBEDDING).add(0.25));
        CheckpointFixtures.writeSafetensors(hf.resolve(Checkpoint.MODEL_FILE), withHead, "F32");
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(hf, DataType.FLOAT));
        assertEquals(
                hf.resolve(Checkpoint.MODEL_FILE) + ": config.json says tie_word_embeddings = true but tensor"
                        + " 'lm_head.weight' differs from 'backbone.embeddings.weight' (max |difference| = 0.25)",
                e.getMessage());
    }

    /** An unpadded vocabulary (13 rows) is kept as it is: transformers uses vocab_size rows and logits. */
    @Test
    void theVocabularyIsNotPadded() throws IOException {
        MambaConfig c = original(false).toBuilder().padVocabSizeMultiple(1).build();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 23);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(hf, c, w, "F32", 1, Map.of());
        LoadedCheckpoint loaded = Checkpoint.load(hf, DataType.FLOAT);
        assertEquals(13, loaded.config().paddedVocabSize());
        assertArrayEquals(
                new long[] {13, 8}, loaded.tensor(CheckpointSchema.EMBEDDING).shape());
    }

    @Test
    void aMissingShardIsNamed() throws IOException {
        MambaConfig c = original(false);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(
                hf, c, CheckpointFixtures.bf16ExactWeights(c, 24), "BF16", 2, Map.of());
        Files.delete(hf.resolve("model-00002-of-00002.safetensors"));
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(hf, DataType.FLOAT));
        assertEquals(
                hf.resolve(CheckpointLayout.SAFETENSORS_INDEX) + ": shard 'model-00002-of-00002.safetensors' (named"
                        + " for 10 tensors, e.g. 'backbone.layers.1.mixer.in_proj.weight') is missing from " + hf,
                e.getMessage());
    }

    /** A shard holding a tensor its index does not list there, or an index listing a tensor its shard lacks. */
    @Test
    void shardsMustAgreeWithTheirIndex() throws IOException {
        MambaConfig c = original(false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 25);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(hf, c, w, "BF16", 2, Map.of());
        Path index = hf.resolve(CheckpointLayout.SAFETENSORS_INDEX);
        String original = Files.readString(index);
        Files.writeString(
                index,
                original.replace(
                        "\"backbone.norm_f.weight\": \"model-00002-of-00002.safetensors\"",
                        "\"backbone.norm_f.weight\": \"model-00001-of-00002.safetensors\""));
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(hf, DataType.FLOAT));
        assertEquals(
                hf.resolve("model-00002-of-00002.safetensors") + ": holds tensor 'backbone.norm_f.weight', which "
                        + index + " lists in shard 'model-00001-of-00002.safetensors'",
                e.getMessage());
    }

    /** Config values ssm-spark would not compute as transformers does are refused by field name. */
    @Test
    void unsupportedConfigValuesAreRefusedByField() throws IOException {
        MambaConfig c = original(false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 26);
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(
                "\"time_step_limit\": [0.0, 10.0]",
                "field 'time_step_limit' = [0.0, 10.0] is not supported; only"
                        + " [0.0, Infinity] (no clamping of the time step) is supported");
        cases.put(
                "\"use_bias\": true",
                "field 'use_bias' = true is not supported; in_proj and out_proj biases are not"
                        + " supported (ssm-spark's Mamba2 has none, as mamba_ssm's default)");
        cases.put(
                "\"num_experts\": 8",
                "unknown field 'num_experts': mixture-of-experts layers are not part of"
                        + " Mamba2ForCausalLM and ssm-spark has none");
        cases.put(
                "\"architectures\": [\"MambaForCausalLM\"]",
                "field 'model_type' = \"mamba2\" contradicts architectures = [\"MambaForCausalLM\"]"
                        + " (MambaForCausalLM has model_type \"mamba\")");
        cases.put(
                "\"model_type\": \"zamba2\"",
                "field 'model_type' = \"zamba2\" is not supported; only Mamba2ForCausalLM (model_type"
                        + " \"mamba2\"), MambaForCausalLM (model_type \"mamba\") and BambaForCausalLM (model_type"
                        + " \"bamba\") are read from a transformers config (hybrid models need the mapping of their attention and MLP layers, not done yet)");
        cases.put(
                "\"layer_norm_epsilon\": 1e-06",
                "field 'layer_norm_epsilon' = 1.0E-6 is not supported; transformers"
                        + " also uses it in each Mamba2 mixer's gated RMSNorm, where ssm-spark uses mamba_ssm's fixed 1.0E-5; only"
                        + " 1e-05 is supported");
        cases.put(
                "\"num_heads\": 8",
                "field 'num_heads' = 8 with head_dim = 4 gives 32 channels, but expand *"
                        + " hidden_size = 2 * 8 = 16; they must be equal");
        cases.put(
                "\"rms_norm\": false",
                "field 'rms_norm' = false is not supported; transformers' Mamba2 always uses"
                        + " RMSNorm (Mamba2RMSNorm, MambaRMSNormGated), so the config contradicts the model it describes");
        cases.put(
                "\"layer_types\": [\"mamba\", \"attention\"]",
                "field 'layer_types[1]' = \"attention\" is not"
                        + " supported; Mamba2ForCausalLM has only \"mamba\" layers");
        cases.put(
                "\"residual_scale\": 2",
                "unknown field 'residual_scale': it is not a field of transformers'"
                        + " Mamba2Config, and ssm-spark does not guess what it means");
        for (Map.Entry<String, String> e : cases.entrySet()) {
            String[] kv = e.getKey().split(": ", 2);
            Path hf = dir.resolve("case" + Math.abs(e.getKey().hashCode()));
            CheckpointFixtures.writeTransformersMamba2(hf, c, w, "BF16", 1, Map.of(kv[0].replace("\"", ""), kv[1]));
            MalformedConfigException x =
                    assertThrows(MalformedConfigException.class, () -> Checkpoint.load(hf, DataType.FLOAT), e.getKey());
            assertEquals(hf.resolve(Checkpoint.CONFIG_FILE) + ": " + e.getValue(), x.getMessage());
        }
    }

    /**
     * A sharded checkpoint is converted shard by shard: at most one weight file is open at any time, each shard is
     * opened once to list it and once to read it, in order, and every tensor is read while its own shard is open.
     */
    @Test
    void shardsAreReadOneAtATime() throws IOException {
        MambaConfig c = original(false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 27);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(hf, c, w, "BF16", 3, Map.of());
        List<String> events = new ArrayList<>();
        int[] open = {0, 0}; // now, most
        WeightPlan.Opener recording = file -> {
            TensorFile f = TensorFile.open(file);
            open[0]++;
            open[1] = Math.max(open[1], open[0]);
            String shard = file.getFileName().toString().substring(6, 11);
            events.add("open " + shard);
            return new TensorFile() {
                boolean closed;

                @Override
                public Path file() {
                    return f.file();
                }

                @Override
                public List<StoredTensor> tensors() {
                    return f.tensors();
                }

                @Override
                public INDArray read(String name, DataType type) throws IOException {
                    if (closed) {
                        throw new AssertionError("read after close: " + name);
                    }
                    events.add("read " + shard);
                    return f.read(name, type);
                }

                @Override
                public void close() throws IOException {
                    closed = true;
                    open[0]--;
                    events.add("close " + shard);
                    f.close();
                }
            };
        };
        LoadedCheckpoint loaded = CheckpointLoader.load(hf, DataType.FLOAT, recording);
        assertEquals(1, open[1], "weight files open at once");
        assertEquals(0, open[0]);
        List<String> opens = events.stream().filter(s -> s.startsWith("open")).toList();
        assertEquals(
                List.of("open 00001", "open 00002", "open 00003", "open 00001", "open 00002", "open 00003"), opens);
        List<String> compact = new ArrayList<>();
        for (String s : events) {
            if (compact.isEmpty() || !compact.get(compact.size() - 1).equals(s)) {
                compact.add(s);
            }
        }
        assertEquals(
                List.of(
                        "open 00001",
                        "close 00001",
                        "open 00002",
                        "close 00002",
                        "open 00003",
                        "close 00003",
                        "open 00001",
                        "read 00001",
                        "close 00001",
                        "open 00002",
                        "read 00002",
                        "close 00002",
                        "open 00003",
                        "read 00003",
                        "close 00003"),
                compact);
        assertEquals(
                CheckpointSchema.of(loaded.config()).tensors().size(),
                events.stream().filter(s -> s.startsWith("read")).count());
        Path mambaSsm = dir.resolve("mamba_ssm");
        CheckpointFixtures.writeMambaSsmBin(mambaSsm, c, w, "BF16");
        assertSameModel(Checkpoint.load(mambaSsm, DataType.FLOAT), loaded);
        assertNull(CheckpointLayout.detect(mambaSsm).transformers());
    }
}
