package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.testing.TinyModels;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class DecoderTest {
    private static final int LENGTH = 11;

    /**
     * prefill(the first {@code promptLength} tokens), then one step per remaining token: each returned logits row
     * must equal the full forward's logits at the same position (max |Δ| below tol).
     */
    private static double maxDecodeError(MambaConfig c, DataType dtype, int promptLength) {
        HybridLm model = TinyModels.randomModel(c, 40, 0.1, dtype);
        int[][] tokens = TinyModels.tokens(new Random(41), 2, LENGTH, c.vocabSize());
        INDArray full = model.forward(tokens).logits().reshape(2, LENGTH, c.paddedVocabSize());
        Decoder decoder = new Decoder(model);
        double worst;
        int next;
        if (promptLength == 0) {
            worst = 0;
            next = 0;
        } else {
            int[][] prompt = new int[2][];
            for (int b = 0; b < 2; b++) {
                prompt[b] = Arrays.copyOf(tokens[b], promptLength);
            }
            INDArray logits = decoder.prefill(prompt);
            worst = maxAbsDiff(logits, full.get(all(), point(promptLength - 1), all()));
            next = promptLength;
        }
        for (int t = next; t < LENGTH; t++) {
            INDArray logits = decoder.step(new int[] {tokens[0][t], tokens[1][t]});
            assertEquals(t + 1, decoder.position());
            worst = Math.max(worst, maxAbsDiff(logits, full.get(all(), point(t), all())));
        }
        return worst;
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        assertEquals(Arrays.toString(b.shape()), Arrays.toString(a.shape()));
        return a.castTo(DataType.DOUBLE)
                .sub(b.castTo(DataType.DOUBLE))
                .amaxNumber()
                .doubleValue();
    }

    private static void checkAllPrompts(MambaConfig c) {
        // prompt 0: every token by step; 1 and 2: shorter than d_conv − 1 / d_conv; 6: several chunks of 4
        for (int prompt : new int[] {0, 1, 2, 6}) {
            double e64 = maxDecodeError(c, DataType.DOUBLE, prompt);
            assertTrue(e64 < 1e-10, "fp64, prompt " + prompt + ": max |Δlogit| " + e64);
            double e32 = maxDecodeError(c, DataType.FLOAT, prompt);
            assertTrue(e32 < 1e-4, "fp32, prompt " + prompt + ": max |Δlogit| " + e32);
        }
    }

    @Test
    void pureMambaWithPerChannelDDecodesLikeTheFullForward() {
        checkAllPrompts(TinyModels.pureMamba()); // d_conv 3, D per channel, LayerNorm, tied head
    }

    @Test
    void hybridWithFullAttentionAndTwoGroupsDecodesLikeTheFullForward() {
        checkAllPrompts(TinyModels.hybrid(null)); // ngroups 2, d_conv 4, GQA attention, MLP
    }

    @Test
    void hybridWithASlidingWindowShorterThanTheSequenceDecodesLikeTheFullForward() {
        checkAllPrompts(TinyModels.hybrid(3));
    }

    @Test
    void theSlidingWindowCacheStaysBoundedAndFullAttentionKeepsEveryKey() {
        for (Integer window : new Integer[] {3, null}) {
            MambaConfig c = TinyModels.hybrid(window);
            Decoder decoder = new Decoder(TinyModels.randomModel(c, 2, 0.1, DataType.DOUBLE));
            decoder.prefill(new int[][] {{1, 2, 3, 4, 5}});
            for (int i = 0; i < 4; i++) {
                decoder.step(new int[] {i});
            }
            LmState s = decoder.state();
            assertEquals(9, s.position());
            assertEquals(window == null ? 9 : 2, s.pastKey(1).size(1));
            assertEquals(window == null ? 9 : 2, s.pastValue(1).size(1));
            assertEquals(1, s.mixerCarry(0).convRows().size(0)); // [batch 1, K−1 = 3, C]
            assertEquals(3, s.mixerCarry(0).convRows().size(1));
        }
    }

    @Test
    void theStateSnapshotContinuesLikeFurtherSteps() {
        MambaConfig c = TinyModels.hybrid(3);
        HybridLm model = TinyModels.randomModel(c, 6, 0.1, DataType.DOUBLE);
        Decoder decoder = new Decoder(model);
        decoder.prefill(new int[][] {{3, 1, 4}, {1, 5, 9}});
        decoder.step(new int[] {2, 6});
        LmState snapshot = decoder.state();
        INDArray viaForward = model.forward(new int[][] {{5}, {3}}, snapshot).logits();
        INDArray viaStep = decoder.step(new int[] {5, 3});
        assertTrue(maxAbsDiff(viaStep, viaForward) < 1e-12);
    }

    @Test
    void badStepInputIsRefusedWithOneClearMessage() {
        MambaConfig c = TinyModels.pureMamba();
        Decoder decoder = new Decoder(TinyModels.randomModel(c, 1, 0.1, DataType.DOUBLE));
        decoder.prefill(new int[][] {{1, 2}, {3, 4}});
        IllegalArgumentException wrongBatch =
                assertThrows(IllegalArgumentException.class, () -> decoder.step(new int[] {1}));
        assertTrue(
                wrongBatch.getMessage().contains("expected 2")
                        && wrongBatch.getMessage().contains("found 1"),
                wrongBatch.getMessage());
        IllegalArgumentException outside =
                assertThrows(IllegalArgumentException.class, () -> decoder.step(new int[] {1, 16}));
        assertTrue(
                outside.getMessage().contains("= 16") && outside.getMessage().contains("[0, 16)"),
                outside.getMessage());
        assertEquals(2, decoder.position()); // a refused step changes nothing
    }
}
