package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.CheckpointFixtures;
import io.ssmspark.model.config.MambaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code ssm-spark nll} on the layouts users hold writes, byte for byte, the CSV it writes for the same weights in
 * ssm-spark's own model.safetensors: mamba_ssm's pytorch_model.bin (hybrid, BF16 on disk) and transformers' shards.
 */
class ForeignCheckpointNllTest {
    @TempDir
    Path dir;

    private String nll(Path model, Path tokens, String dtype) throws IOException {
        Path csv = dir.resolve(model.getFileName() + "-" + dtype + ".csv");
        CliRun r = CliRun.of(
                "nll",
                "--model",
                model.toString(),
                "--tokens",
                tokens.toString(),
                "--out",
                csv.toString(),
                "--dtype",
                dtype,
                "--window",
                "9");
        assertEquals(0, r.code(), r.err());
        return Files.readString(csv);
    }

    private Path tokens(String name, int n, int vocab) throws IOException {
        Random rnd = new Random(8);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return CliRun.writeInt32Tokens(dir.resolve(name), t);
    }

    @Test
    void mambaSsmBinAndTransformersShardsScoreAsTheirSafetensorsCopy() throws IOException {
        MambaConfig hybrid = InspectCommandTest.hybridTied();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(hybrid, 51);
        Path own = dir.resolve("own");
        Checkpoint.save(own, hybrid, w);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, hybrid, w, "BF16");
        Path tok = tokens("tokens13.bin", 40, 13);
        for (String dtype : new String[] {"float32", "float64"}) {
            assertEquals(nll(own, tok, dtype), nll(bin, tok, dtype), dtype);
        }

        MambaConfig pure = InspectCommandTest.pureUntied();
        Map<String, INDArray> p = CheckpointFixtures.bf16ExactWeights(pure, 52);
        Path pureOwn = dir.resolve("pure-own");
        Checkpoint.save(pureOwn, pure, p);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(hf, pure, p, "BF16", 2, Map.of());
        Path tok16 = tokens("tokens16.bin", 40, 16);
        String expected = nll(pureOwn, tok16, "float32");
        assertEquals(expected, nll(hf, tok16, "float32"));
        assertNotEquals(nll(own, tok, "float32"), nll(pureOwn, tok, "float32"), "different models score differently");
    }
}
