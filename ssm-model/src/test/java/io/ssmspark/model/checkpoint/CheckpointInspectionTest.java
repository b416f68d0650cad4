package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.model.config.MambaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The inspection report of the layouts a user holds, line for line. */
class CheckpointInspectionTest {
    @TempDir
    Path dir;

    @Test
    void describesAMambaSsmBinWithItsTiedHead() throws IOException {
        MambaConfig c = MambaSsmBinCheckpointTest.hybrid().toBuilder()
                .tieEmbeddings(true)
                .build();
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, CheckpointFixtures.bf16ExactWeights(c, 31), "BF16");
        CheckpointInspection i = CheckpointInspection.of(bin);
        assertEquals(
                List.of(
                        "checkpoint: " + bin,
                        "layout: mamba_ssm save_pretrained (config.json + pytorch_model.bin)",
                        "weights: pytorch_model.bin",
                        "layers: 3 (2 Mamba2, 1 MHA), pattern MAM; each layer has a GatedMLP of hidden width 128",
                        "  Mamba2: d_model 8, d_inner 16, 4 heads of headdim 4, d_state 4, ngroups 2, d_conv 4, chunk_size 4",
                        "  MHA: 4 heads on 2 kv heads of head_dim 4, rotary_emb_dim 4",
                        "norms: LayerNorm, eps 1.0E-5",
                        String.format(
                                java.util.Locale.ROOT,
                                "parameters: %,d (head tied to the embedding)",
                                CheckpointSchema.of(c).totalParameters()),
                        "stored dtypes: BF16 ("
                                + (CheckpointSchema.of(c).tensors().size() + 1) + " tensors)",
                        "vocabulary: 13, padded to 16 (pad_vocab_size_multiple 8; embedding and logits have 16 rows)",
                        "ignored: 1 tensor",
                        "  lm_head.weight in pytorch_model.bin (the head is tied to the embedding; load checks that it equals"
                                + " backbone.embedding.weight)",
                        "refused: none; the checkpoint loads"),
                i.lines());
    }

    @Test
    void describesTransformersShardsAndWhatTheyWouldRefuse() throws IOException {
        MambaConfig c = TransformersMamba2CheckpointTest.original(false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 32);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(hf, c, w, "BF16", 2, Map.of());
        Files.writeString(hf.resolve(CheckpointLayout.BIN_FILE), "an older copy");
        List<String> expected = new ArrayList<>(List.of(
                "checkpoint: " + hf,
                "layout: Hugging Face transformers, Mamba2ForCausalLM (written by transformers 4.44.0)",
                "weights: model.safetensors.index.json, 2 shards",
                "  model-00001-of-00002.safetensors: 11 tensors",
                "  model-00002-of-00002.safetensors: 10 tensors",
                "not read: pytorch_model.bin (model.safetensors.index.json is read instead)",
                "layers: 2 (2 Mamba2), pattern MM; no MLP",
                "  Mamba2: d_model 8, d_inner 16, 4 heads of headdim 4, d_state 4, ngroups 2, d_conv 4, chunk_size 4",
                "norms: RMSNorm, eps 1.0E-5",
                String.format(
                        java.util.Locale.ROOT,
                        "parameters: %,d (head separate)",
                        CheckpointSchema.of(c).totalParameters()),
                "stored dtypes: BF16 (21 tensors); config.json declares bfloat16",
                "vocabulary: 16, not padded (embedding and logits have 16 rows)",
                "ignored: none",
                "refused: none; the checkpoint loads",
                "note: n_groups = 2: the gated RMSNorm is taken over each group of d_inner / n_groups = 8 channels, as"
                        + " mamba_ssm computes it (and transformers' CUDA training kernel); transformers' own"
                        + " MambaRMSNormGated normalises all 16 channels at once, so its logits differ from these"));
        assertEquals(expected, CheckpointInspection.of(hf).lines());

        // a shard with a tensor the model does not know, and one with a wrong shape
        Path second = hf.resolve("model-00002-of-00002.safetensors");
        Map<String, INDArray> part = new java.util.LinkedHashMap<>();
        try (SafeTensorsReader r = SafeTensors.open(second)) {
            for (SafeTensorEntry e : r.entries()) {
                part.put(e.name(), r.read(e.name(), org.nd4j.linalg.api.buffer.DataType.FLOAT));
            }
        }
        part.put("backbone.norm_f.weight", org.nd4j.linalg.factory.Nd4j.ones(7));
        part.put("backbone.layers.1.mixer.in_proj.bias", org.nd4j.linalg.factory.Nd4j.zeros(44));
        CheckpointFixtures.writeSafetensors(second, part, "BF16");
        Path index = hf.resolve(CheckpointLayout.SAFETENSORS_INDEX);
        Files.writeString(
                index,
                Files.readString(index)
                        .replace(
                                "\"weight_map\": {\n",
                                "\"weight_map\": {\n    \"backbone.layers.1.mixer.in_proj.bias\": \"model-00002-of-00002.safetensors\",\n"));
        CheckpointInspection broken = CheckpointInspection.of(hf);
        assertEquals(
                List.of(
                        second + ": tensor 'backbone.norm_f.weight' has shape [7] but the config expects [8]",
                        second
                                + ": unexpected tensor 'backbone.layers.1.mixer.in_proj.bias' with shape [44]: the config has no"
                                + " such parameter"),
                broken.refused());
        List<String> lines = broken.lines();
        assertEquals("refused: 2 (load stops at the first)", lines.get(lines.size() - 4));
    }
}
