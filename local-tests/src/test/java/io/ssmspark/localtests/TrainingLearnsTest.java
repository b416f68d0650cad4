package io.ssmspark.localtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.data.DataSpec;
import io.ssmspark.data.synthetic.SyntheticCorpora;
import io.ssmspark.data.synthetic.SyntheticCorpus;
import io.ssmspark.jobs.Main;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * It learns: `ssm-spark train` on synthetic:associative-recall, in local mode with 2 partitions, takes a small
 * hybrid's validation loss well below the corpus's unigram loss (what counting tokens achieves).
 */
class TrainingLearnsTest {
    private static final String DATA = "synthetic:associative-recall?documents=2000";
    /** The validation loss must end at least this far below the unigram loss (nats/token). */
    static final double MARGIN_BELOW_UNIGRAM = 0.5;

    @TempDir
    Path dir;

    @Test
    void validationLossFallsWellBelowTheUnigramLoss() throws IOException {
        MambaConfig model = MambaConfig.builder()
                .dModel(32)
                .nLayer(2)
                .vocabSize(129)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder()
                        .dState(16)
                        .dConv(4)
                        .expand(2)
                        .headdim(16)
                        .ngroups(1)
                        .chunkSize(32)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(2)
                        .numHeadsKv(2)
                        .headDim(16)
                        .rotaryEmbDim(16)
                        .build())
                .tieEmbeddings(true)
                .build();
        Path modelFile = dir.resolve("model.json");
        Files.writeString(modelFile, model.toJson());
        Path out = dir.resolve("run");
        long start = System.nanoTime();
        int code = Main.run(
                "train",
                "--master",
                "local[2]",
                "--partitions",
                "2",
                "--model-config",
                modelFile.toString(),
                "--data",
                DATA,
                "--seq-len",
                "64",
                "--global-batch",
                "8",
                "--micro-batch",
                "4",
                "--steps",
                "150",
                "--lr",
                "0.005",
                "--min-lr",
                "0.0005",
                "--warmup",
                "10",
                "--weight-decay",
                "0.01",
                "--seed",
                "3",
                "--eval-every",
                "50",
                "--eval-windows",
                "64",
                "--out",
                out.toString());
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(0, code);

        DataSpec spec = DataSpec.parse(DATA);
        SyntheticCorpus corpus = SyntheticCorpora.create(spec.syntheticName(), spec.parameters());
        JsonNode summary =
                new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        double validation = summary.get("final_validation_loss").asDouble();
        System.out.printf(
                "associative-recall: validation loss %.4f after 150 steps (%.0f s, %.0f tokens/s);"
                        + " unigram %.4f, ideal %.4f%n",
                validation, seconds, summary.get("tokens_per_s").asDouble(), corpus.unigramLoss(), corpus.idealLoss());
        assertTrue(
                validation < corpus.unigramLoss() - MARGIN_BELOW_UNIGRAM,
                "validation loss " + validation + " vs unigram " + corpus.unigramLoss());
        assertTrue(validation > corpus.idealLoss() - 0.05, "no model beats the generator: " + validation);
    }
}
