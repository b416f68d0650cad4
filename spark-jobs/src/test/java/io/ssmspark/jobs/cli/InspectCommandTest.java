package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.CheckpointFixtures;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.HostilePickles;
import io.ssmspark.model.checkpoint.TorchZipWriter;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ssm-spark inspect DIR} on the layouts users hold: mamba_ssm's pytorch_model.bin, transformers' shards. */
class InspectCommandTest {
    @TempDir
    Path dir;

    /** Hybrid: layer 1 attention, GatedMLP, tied head, vocab 13 padded to 16. */
    static MambaConfig hybridTied() {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(2)
                        .chunkSize(4)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(4)
                        .numHeadsKv(2)
                        .headDim(4)
                        .rotaryEmbDim(4)
                        .build())
                .tieEmbeddings(true)
                .build();
    }

    /** Pure Mamba-2 for transformers' layout: 2 layers, 1 group, untied head, vocab 16. */
    static MambaConfig pureUntied() {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(16)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(1)
                        .chunkSize(4)
                        .build())
                .tieEmbeddings(false)
                .build();
    }

    @Test
    void describesAMambaSsmPytorchModelBin() throws IOException {
        MambaConfig c = hybridTied();
        Path bin = dir.resolve("mamba_ssm");
        CheckpointFixtures.writeMambaSsmBin(bin, c, CheckpointFixtures.bf16ExactWeights(c, 41), "BF16");
        CliRun r = CliRun.of("inspect", bin.toString());
        assertEquals(0, r.code(), r.err());
        long parameters = CheckpointSchema.of(c).totalParameters();
        String expected = String.join(
                        "\n",
                        "checkpoint: " + bin,
                        "layout: mamba_ssm save_pretrained (config.json + pytorch_model.bin)",
                        "weights: pytorch_model.bin",
                        "layers: 3 (2 Mamba2, 1 MHA), pattern MAM; each layer has a GatedMLP of hidden width 128",
                        "  Mamba2: d_model 8, d_inner 16, 4 heads of headdim 4, d_state 4, ngroups 2, d_conv 4, chunk_size 4",
                        "  MHA: 4 heads on 2 kv heads of head_dim 4, rotary_emb_dim 4",
                        "norms: RMSNorm, eps 1.0E-5",
                        String.format(Locale.ROOT, "parameters: %,d (head tied to the embedding)", parameters),
                        "stored dtypes: BF16 ("
                                + (CheckpointSchema.of(c).tensors().size() + 1) + " tensors)",
                        "vocabulary: 13, padded to 16 (pad_vocab_size_multiple 8; embedding and logits have 16 rows)",
                        "ignored: 1 tensor",
                        "  lm_head.weight in pytorch_model.bin (the head is tied to the embedding; load checks that it equals"
                                + " backbone.embedding.weight)",
                        "refused: none; the checkpoint loads")
                + "\n";
        assertEquals(expected, r.out());
        assertEquals("", r.err());
    }

    @Test
    void describesTransformersShards() throws IOException {
        MambaConfig c = pureUntied();
        Path hf = dir.resolve("hf");
        Map<String, String> v5 = new HashMap<>(); // transformers 5.x spells torch_dtype as dtype
        v5.put("torch_dtype", null);
        v5.put("dtype", "\"bfloat16\"");
        v5.put("transformers_version", "\"5.0.0\"");
        CheckpointFixtures.writeTransformersMamba2(hf, c, CheckpointFixtures.bf16ExactWeights(c, 42), "BF16", 2, v5);
        CliRun r = CliRun.of("inspect", hf.toString());
        assertEquals(0, r.code(), r.err());
        String expected = String.join(
                        "\n",
                        "checkpoint: " + hf,
                        "layout: Hugging Face transformers, Mamba2ForCausalLM (written by transformers 5.0.0)",
                        "weights: model.safetensors.index.json, 2 shards",
                        "  model-00001-of-00002.safetensors: 11 tensors",
                        "  model-00002-of-00002.safetensors: 10 tensors",
                        "layers: 2 (2 Mamba2), pattern MM; no MLP",
                        "  Mamba2: d_model 8, d_inner 16, 4 heads of headdim 4, d_state 4, ngroups 1, d_conv 4, chunk_size 4",
                        "norms: RMSNorm, eps 1.0E-5",
                        String.format(
                                Locale.ROOT,
                                "parameters: %,d (head separate)",
                                CheckpointSchema.of(c).totalParameters()),
                        "stored dtypes: BF16 (21 tensors); config.json declares bfloat16",
                        "vocabulary: 16, not padded (embedding and logits have 16 rows)",
                        "ignored: none",
                        "refused: none; the checkpoint loads")
                + "\n";
        assertEquals(expected, r.out());
    }

    /** What load would refuse is listed and the exit code says so; a hostile pickle is one error line, nothing runs. */
    @Test
    void listsWhatLoadWouldRefuseAndExitsTwo() throws IOException {
        MambaConfig c = hybridTied();
        Path bin = dir.resolve("other-vocab");
        CheckpointFixtures.writeMambaSsmBin(bin, c, CheckpointFixtures.bf16ExactWeights(c, 43), "BF16");
        // the config now wants 24 embedding rows; the file stores 16
        Files.writeString(
                bin.resolve("config.json"), c.toBuilder().vocabSize(21).build().toJson());
        CliRun r = CliRun.of("inspect", bin.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        Path file = bin.resolve("pytorch_model.bin");
        assertTrue(
                r.out()
                        .endsWith("refused: 2 (load stops at the first)\n"
                                + "  " + file
                                + ": tensor 'backbone.embedding.weight' has shape [16, 8] but the config expects [24, 8]\n"
                                + "  " + file
                                + ": tensor 'lm_head.weight' has shape [16, 8] but the config expects [24, 8] (tied to the"
                                + " embedding)\n"),
                r.out());
        assertTrue(r.out().contains("vocabulary: 21, padded to 24"), r.out());

        Path target = dir.resolve("side-effect");
        for (HostilePickles.Attack a : HostilePickles.all(target.toString())) {
            Path hostile = Files.createDirectories(dir.resolve("hostile-" + a.global() + a.pickle().length));
            Files.writeString(hostile.resolve("config.json"), c.toJson());
            TorchZipWriter.writeZip(
                    hostile.resolve("pytorch_model.bin"),
                    "archive",
                    Map.of("data.pkl", a.pickle(), "data/0", new byte[8]));
            CliRun h = CliRun.of("inspect", hostile.toString());
            assertEquals(2, h.code(), h.out() + h.err());
            assertEquals("", h.out());
            assertTrue(
                    h.err()
                            .startsWith("ssm-spark inspect: " + hostile.resolve("pytorch_model.bin")
                                    + ": record 'archive/data.pkl': byte offset "),
                    h.err());
            assertTrue(h.err().contains("refused global '" + a.global() + "'"), h.err());
            assertEquals(1, h.err().lines().count(), h.err());
            assertFalse(Files.exists(target), a.global() + " ran");
        }
    }
}
