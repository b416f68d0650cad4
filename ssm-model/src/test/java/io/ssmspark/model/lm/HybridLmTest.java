package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.LoadedCheckpoint;
import io.ssmspark.model.checkpoint.TensorSpec;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.mixer.Mamba2Mixer;
import io.ssmspark.model.testing.FiniteDifferences;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class HybridLmTest {
    @TempDir
    Path dir;

    @Test
    void pureMambaGradientMatchesFiniteDifferencesOnEveryTensor() {
        checkModelGradient(TinyModels.pureMamba(), 21);
    }

    @Test
    void hybridGradientMatchesFiniteDifferencesOnEveryTensor() {
        checkModelGradient(TinyModels.hybrid(null), 22);
    }

    /** L = Σ mask·nll with a random positive mask; the flat gradient is checked on 4 entries of every tensor. */
    private static void checkModelGradient(MambaConfig c, long seed) {
        HybridLm model = TinyModels.randomModel(c, seed, 0.1, DataType.DOUBLE);
        Random rnd = new Random(seed);
        int[][] tokens = TinyModels.tokens(rnd, 2, 6, c.vocabSize());
        int[][] targets = TinyModels.tokens(rnd, 2, 6, c.vocabSize());
        INDArray mask = FiniteDifferences.randn(rnd, 0.2, 2, 6).addi(1.0); // seeded: Nd4j.rand is not
        HybridLm.Forward f = model.forward(tokens);
        INDArray grad = model.newGradient();
        model.backward(f, targets, mask, 1.0, grad);
        INDArray flat = model.parameters();
        Random pick = new Random(seed + 100);
        int checked = 0;
        for (TensorSpec t : model.schema().tensors()) {
            long[] local = FiniteDifferences.entries(t.size(), 4, pick);
            if (t.name().equals(CheckpointSchema.EMBEDDING)) {
                // only the rows of input tokens get a gradient (untied head): pick entries of two of them
                local = new long[] {
                    tokens[0][0] * (long) c.dModel() + 1,
                    tokens[1][3] * (long) c.dModel() + 6,
                    tokens[0][5] * (long) c.dModel(),
                    tokens[1][1] * (long) c.dModel() + 3
                };
            }
            long[] global = Arrays.stream(local).map(i -> i + t.offset()).toArray();
            FiniteDifferences.check(
                    t.name(),
                    flat,
                    grad,
                    global,
                    () -> model.nll(model.forward(tokens), targets, mask).sum(),
                    1e-5);
            checked++;
        }
        assertEquals(model.schema().tensors().size(), checked);
    }

    @Test
    void scaleMultipliesTheGradientAndNllSumsTheMask() {
        MambaConfig c = TinyModels.pureMamba();
        HybridLm model = TinyModels.randomModel(c, 3, 0.1, DataType.DOUBLE);
        int[][] tokens = TinyModels.tokens(new Random(1), 2, 5, c.vocabSize());
        int[][] targets = TinyModels.tokens(new Random(2), 2, 5, c.vocabSize());
        INDArray mask = Nd4j.createFromArray(new double[][] {{1, 1, 0, 1, 1}, {0, 1, 1, 1, 0}});
        HybridLm.Forward f = model.forward(tokens);
        HybridLm.Nll nll = model.nll(f, targets, mask);
        assertEquals(7.0, nll.count());
        double expected = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 5; t++) {
                expected += mask.getDouble(b, t) * nll.perToken().getDouble(b, t);
            }
        }
        assertEquals(expected, nll.sum(), 1e-12);
        INDArray g1 = model.newGradient();
        model.backward(f, targets, mask, 1.0, g1);
        INDArray gMean = model.newGradient();
        model.backward(f, targets, mask, HybridLm.meanScale(nll.count()), gMean);
        assertEquals(
                0,
                g1.div(7.0).sub(gMean).amaxNumber().doubleValue(),
                1e-12 * g1.amaxNumber().doubleValue());
        assertTrue(g1.amaxNumber().doubleValue() > 1e-3);
    }

    /** embed → per layer (mixer on normed, finishBlock) → finalNormed → head reproduces forward()'s logits. */
    @Test
    void layerByLayerStepsEqualForward() {
        for (MambaConfig c : new MambaConfig[] {TinyModels.pureMamba(), TinyModels.hybrid(null)}) {
            HybridLm model = TinyModels.randomModel(c, 4, 0.1, DataType.DOUBLE);
            int[] tokens = TinyModels.tokens(new Random(8), 1, 11, c.vocabSize())[0];
            INDArray stream = model.embed(tokens);
            for (int i = 0; i < c.nLayer(); i++) {
                INDArray x = model.normed(i, stream).reshape(1, tokens.length, c.dModel());
                INDArray out = c.isAttentionLayer(i)
                        ? io.ssmspark.model.layers.Attention.forward(
                                        x, model.attentionWeights(i), model.attentionSpec(), 0, null, null)
                                .out()
                        : Mamba2Mixer.forward(x, model.mambaWeights(i), model.mixerSpec(), null)
                                .out();
                stream = model.finishBlock(i, stream, out);
            }
            INDArray logits = model.head(model.finalNormed(stream));
            INDArray expected = model.forward(new int[][] {tokens}).logits();
            assertEquals(0, expected.sub(logits).amaxNumber().doubleValue(), 0.0);
        }
    }

    @Test
    void windowsWithCarriedStateEqualOneRun() {
        for (MambaConfig c :
                new MambaConfig[] {TinyModels.pureMamba(), TinyModels.hybrid(null), TinyModels.hybrid(3)}) {
            HybridLm model = TinyModels.randomModel(c, 9, 0.1, DataType.DOUBLE);
            int[][] tokens = TinyModels.tokens(new Random(4), 2, 11, c.vocabSize());
            INDArray whole = model.forward(tokens).logits().reshape(2, 11, c.paddedVocabSize());
            LmState state = null;
            int start = 0;
            for (int len : new int[] {4, 1, 3, 3}) {
                int[][] part = new int[2][];
                for (int b = 0; b < 2; b++) {
                    part[b] = Arrays.copyOfRange(tokens[b], start, start + len);
                }
                HybridLm.Forward f = model.forward(part, state);
                INDArray expected =
                        whole.get(NDArrayIndex.all(), NDArrayIndex.interval(start, start + len), NDArrayIndex.all());
                double err = expected.sub(f.logits().reshape(2, len, c.paddedVocabSize()))
                        .amaxNumber()
                        .doubleValue();
                assertTrue(err < 1e-12, "window at " + start + " differs by " + err + " for " + c.attn());
                state = f.stateOut();
                start += len;
            }
            assertEquals(11, state.position());
            if (c.attn().windowSize() != null) {
                assertEquals(2, state.pastKey(1).size(1)); // window 3 keeps window − 1 rows
            } else if (!c.attnLayerIdx().isEmpty()) {
                assertEquals(11, state.pastKey(1).size(1));
            }
        }
    }

    @Test
    void fp32AgreesWithFp64() {
        MambaConfig c = TinyModels.hybrid(null);
        HybridLm m64 = TinyModels.randomModel(c, 5, 0.1, DataType.DOUBLE);
        HybridLm m32 = new HybridLm(c, m64.parameters().castTo(DataType.FLOAT));
        int[][] tokens = TinyModels.tokens(new Random(8), 2, 9, c.vocabSize());
        int[][] targets = TinyModels.tokens(new Random(9), 2, 9, c.vocabSize());
        HybridLm.Forward f64 = m64.forward(tokens);
        HybridLm.Forward f32 = m32.forward(tokens);
        assertEquals(DataType.FLOAT, f32.logits().dataType());
        double logitErr = f64.logits()
                .sub(f32.logits().castTo(DataType.DOUBLE))
                .amaxNumber()
                .doubleValue();
        assertTrue(logitErr < 1e-5, "logits differ by " + logitErr);
        INDArray nllErr = m64.nll(f64, targets, null)
                .perToken()
                .sub(m32.nll(f32, targets, null).perToken().castTo(DataType.DOUBLE));
        assertTrue(nllErr.amaxNumber().doubleValue() < 1e-5);
        INDArray g64 = m64.newGradient();
        m64.backward(f64, targets, null, 1.0, g64);
        INDArray g32 = m32.newGradient();
        m32.backward(f32, targets, null, 1.0, g32);
        double rel = g64.sub(g32.castTo(DataType.DOUBLE)).norm2Number().doubleValue()
                / g64.norm2Number().doubleValue();
        assertTrue(rel < 1e-5, "gradients differ by " + rel);
    }

    @Test
    void saveLoadGivesIdenticalLogits() throws IOException {
        MambaConfig[] configs = {
            TinyModels.pureMamba(),
            TinyModels.hybrid(null),
            TinyModels.hybrid(null).toBuilder()
                    .tieEmbeddings(true)
                    .padVocabSizeMultiple(1)
                    .build()
        };
        int k = 0;
        for (MambaConfig c : configs) {
            HybridLm model = TinyModels.randomModel(c, 30 + k, 0.1, DataType.FLOAT);
            Path d = dir.resolve("ckpt" + k++);
            Checkpoint.save(d, c, model.parameters());
            LoadedCheckpoint loaded = Checkpoint.load(d, DataType.FLOAT);
            assertEquals(c, loaded.config());
            HybridLm back = new HybridLm(loaded.config(), loaded.flatParameters(DataType.FLOAT));
            int[][] tokens = TinyModels.tokens(new Random(k), 2, 7, c.vocabSize());
            INDArray before = model.forward(tokens).logits();
            INDArray after = back.forward(tokens).logits();
            assertArrayEquals(new long[] {14, c.paddedVocabSize()}, after.shape());
            assertEquals(before, after, "logits after save/load of " + c);
        }
    }

    @Test
    void tiedHeadUsesTheEmbedding() {
        MambaConfig c = TinyModels.pureMamba();
        HybridLm model = TinyModels.randomModel(c, 2, 0.1, DataType.DOUBLE);
        assertTrue(!model.schema().contains(CheckpointSchema.LM_HEAD));
        int[][] tokens = {{1, 2, 3}};
        INDArray before = model.forward(tokens).logits();
        // scaling the embedding's row 5 changes only logit column 5 at positions whose inputs do not use token 5
        INDArray row = model.schema()
                .unflatten(model.parameters())
                .get(CheckpointSchema.EMBEDDING)
                .getRow(5);
        row.muli(2.0);
        INDArray after = model.forward(tokens).logits();
        for (int v = 0; v < 16; v++) {
            double diff =
                    before.getColumn(v).sub(after.getColumn(v)).amaxNumber().doubleValue();
            assertEquals(v == 5, diff > 1e-9, "column " + v);
        }
    }

    @Test
    void refusesBadTokensAndShapes() {
        MambaConfig c = TinyModels.pureMamba();
        HybridLm model = TinyModels.randomModel(c, 2, 0.1, DataType.DOUBLE);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> model.forward(new int[][] {{1, 16}}));
        assertEquals("tokens[0][1] = 16 is outside the (padded) vocabulary [0, 16)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> model.forward(new int[][] {{1, 2}, {3}}));
        assertEquals("tokens: row 1 has length 1 but row 0 has 2", e.getMessage());
        HybridLm.Forward f = model.forward(new int[][] {{1, 2}});
        e = assertThrows(IllegalArgumentException.class, () -> model.nll(f, new int[][] {{1, 2, 3}}, null));
        assertEquals("targets: expected shape [1][2] (the forward's tokens) but found [1][3]", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> model.backward(f, new int[][] {{1, 2}}, null, 1.0, Nd4j.zeros(DataType.FLOAT, 3)));
        assertTrue(e.getMessage()
                .startsWith("flat gradient: expected " + model.schema().totalParameters()));
        LmState twoSequences = model.forward(new int[][] {{1, 2}, {3, 4}}).stateOut();
        e = assertThrows(IllegalArgumentException.class, () -> model.forward(new int[][] {{1}}, twoSequences));
        assertEquals("LM state: layer 0 holds 2 sequences but the tokens have 1", e.getMessage());
    }
}
