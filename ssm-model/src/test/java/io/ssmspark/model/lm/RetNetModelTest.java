package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.TensorSpec;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.testing.FiniteDifferences;
import io.ssmspark.model.testing.TinyModels;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A whole RetNet language model through {@link HybridLm} (the walk every path uses): its gradient against finite
 * differences on every tensor, windows continued through the model state and recurrent decoding against one run.
 */
class RetNetModelTest {

    /** L = Σ mask·nll with a random positive mask; the flat gradient is checked on 4 entries of every tensor. */
    @ParameterizedTest(name = "attention={0} groupNorm={1} gate={2}")
    @CsvSource({"false,true,true", "true,true,true", "false,false,false"})
    void gradientMatchesFiniteDifferencesOnEveryTensor(boolean attention, boolean groupNorm, boolean gate) {
        MambaConfig c = TinyModels.retNet(
                attention, null, RetNetConfig.of(2).withGroupNorm(groupNorm).withGate(gate));
        long seed = 31;
        HybridLm model = TinyModels.randomModel(c, seed, 0.1, DataType.DOUBLE);
        Random rnd = new Random(seed);
        int[][] tokens = TinyModels.tokens(rnd, 2, 6, c.vocabSize());
        int[][] targets = TinyModels.tokens(rnd, 2, 6, c.vocabSize());
        INDArray mask = FiniteDifferences.randn(rnd, 0.2, 2, 6).addi(1.0); // seeded: Nd4j.rand is not
        INDArray grad = model.newGradient();
        model.backward(model.forward(tokens), targets, mask, 1.0, grad);
        INDArray flat = model.parameters();
        Random pick = new Random(seed + 100);
        int retention = 0;
        for (TensorSpec t : model.schema().tensors()) {
            long[] local = FiniteDifferences.entries(t.size(), 4, pick);
            if (t.name().equals(CheckpointSchema.EMBEDDING)) {
                // only the rows of input tokens get a gradient (untied head)
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
            if (t.name().matches("backbone\\.layers\\.0\\.mixer\\.[qkvgo].*")) {
                retention++;
            }
        }
        assertEquals(gate ? 5 : 4, retention, "the retention tensors of layer 0 were checked");
    }

    @ParameterizedTest(name = "attention={0}")
    @CsvSource({"false", "true"})
    void windowsWithCarriedStateEqualOneRun(boolean attention) {
        MambaConfig c = TinyModels.retNet(attention, null, RetNetConfig.of(2));
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
            assertTrue(err < 1e-12, "window at " + start + " differs by " + err);
            state = f.stateOut();
            start += len;
        }
        assertEquals(11, state.position());
    }

    /** prefill(prompt) then one step per token (the recurrent form, O(1) per token) gives the full forward's logits. */
    @ParameterizedTest(name = "attention={0}")
    @CsvSource({"false", "true"})
    void decodingGivesTheFullForwardsLogits(boolean attention) {
        MambaConfig c = TinyModels.retNet(attention, null, RetNetConfig.of(2));
        int length = 11;
        for (DataType dtype : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            HybridLm model = TinyModels.randomModel(c, 40, 0.1, dtype);
            int[][] tokens = TinyModels.tokens(new Random(41), 2, length, c.vocabSize());
            INDArray full = model.forward(tokens).logits().reshape(2, length, c.paddedVocabSize());
            for (int prompt : new int[] {0, 1, 6}) {
                Decoder decoder = new Decoder(model);
                double worst = 0;
                if (prompt > 0) {
                    int[][] head = {Arrays.copyOf(tokens[0], prompt), Arrays.copyOf(tokens[1], prompt)};
                    worst = maxAbsDiff(
                            decoder.prefill(head),
                            full.get(NDArrayIndex.all(), NDArrayIndex.point(prompt - 1), NDArrayIndex.all()));
                }
                for (int t = prompt; t < length; t++) {
                    INDArray logits = decoder.step(new int[] {tokens[0][t], tokens[1][t]});
                    worst = Math.max(
                            worst,
                            maxAbsDiff(
                                    logits, full.get(NDArrayIndex.all(), NDArrayIndex.point(t), NDArrayIndex.all())));
                }
                double tolerance = dtype == DataType.DOUBLE ? 1e-10 : 1e-4;
                assertTrue(worst < tolerance, dtype + ", prompt " + prompt + ": max |dlogit| " + worst);
            }
        }
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        assertEquals(Arrays.toString(b.shape()), Arrays.toString(a.shape()));
        return a.castTo(DataType.DOUBLE)
                .sub(b.castTo(DataType.DOUBLE))
                .amaxNumber()
                .doubleValue();
    }
}
