package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.assertClose;
import static io.ssmspark.model.layers.TestArrays.assertValues;
import static io.ssmspark.model.layers.TestArrays.of;
import static io.ssmspark.model.layers.TestArrays.randn;
import static io.ssmspark.model.layers.TestArrays.toFloat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class AttentionTest {

    @Test
    void rotaryAtPositionOneMatchesKnownSinCos() {
        INDArray x = of(new double[] {1, 2, 3, 4}, 1, 1, 1, 4);
        // rd = 4, base 10000: inv_freq = [1, 0.01]; position 1 -> angles [1, 0.01]; pairs (0, 2) and (1, 3)
        double c1 = Math.cos(1);
        double s1 = Math.sin(1);
        double c2 = Math.cos(0.01);
        double s2 = Math.sin(0.01);
        INDArray full = Rotary.apply(x, Rotary.table(1, 1, 4, 10000, DataType.DOUBLE));
        assertValues(
                new double[] {1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1, 4 * c2 + 2 * s2},
                full,
                1e-15,
                "rd = 4");
        // rd = 2 < hd: only dims 0 and 1 rotate (angle 1), dims 2 and 3 pass through
        INDArray partial = Rotary.apply(x, Rotary.table(1, 1, 2, 10000, DataType.DOUBLE));
        assertValues(new double[] {1 * c1 - 2 * s1, 2 * c1 + 1 * s1, 3, 4}, partial, 1e-15, "rd = 2");
        // position 0 is the identity; the transposed rotation undoes the rotation
        assertValues(
                new double[] {1, 2, 3, 4},
                Rotary.apply(x, Rotary.table(0, 1, 4, 10000, DataType.DOUBLE)),
                0,
                "position 0");
        Rotary.Table far = Rotary.table(123_456, 1, 4, 500, DataType.DOUBLE);
        assertClose(x, Rotary.applyTransposed(Rotary.apply(x, far), far), 1e-15, "inverse");
    }

    @Test
    void maskAllowsTheDiagonalAndTheWindowOnly() {
        // T = 2 queries after 1 past key, window 2: query i sits at key index 1 + i
        INDArray m = AttentionKernel.mask(1, 2, 0, 3, 2, DataType.DOUBLE);
        double inf = Double.NEGATIVE_INFINITY;
        assertArrayEquals(new double[] {0, 0, inf, inf, 0, 0}, m.ravel().toDoubleVector());
        INDArray full = AttentionKernel.mask(0, 3, 0, 3, 0, DataType.DOUBLE);
        assertArrayEquals(
                new double[] {0, inf, inf, 0, 0, inf, 0, 0, 0}, full.ravel().toDoubleVector());
        assertNull(AttentionKernel.mask(5, 2, 0, 5, 0, DataType.DOUBLE), "keys all before the queries: no mask");
    }

    /** q = 0 makes attention uniform over the allowed keys, so out[i] = mean of the allowed value rows. */
    @Test
    void slidingWindowAveragesTheLastWRowsWithZeroQueries() {
        INDArray x = of(new double[] {1, 0, 0, 2, 4, 0, 0, 8}, 1, 4, 2);
        // in_proj rows: q (2 rows) = 0, k (2 rows) = anything, v (2 rows) = identity; out_proj = identity
        INDArray inW = of(new double[] {0, 0, 0, 0, 1, 3, -2, 1, 1, 0, 0, 1}, 6, 2);
        INDArray outW = of(new double[] {1, 0, 0, 1}, 2, 2);
        Attention.Weights w = new Attention.Weights(inW, null, outW, null);
        INDArray full = Attention.forward(x, w, new Attention.Spec(1, 1, 2, 0, 10000, null, 0), 0, null, null)
                .out();
        assertValues(new double[] {1, 0, 0.5, 1, 5.0 / 3, 2.0 / 3, 1.25, 2.5}, full, 1e-15, "causal means");
        INDArray windowed = Attention.forward(x, w, new Attention.Spec(1, 1, 2, 0, 10000, null, 2), 0, null, null)
                .out();
        assertValues(new double[] {1, 0, 0.5, 1, 2, 1, 2, 4}, windowed, 1e-15, "window 2 means");
    }

    /** H = 4, Hkv = 2: query heads 0 and 1 read kv head 0, heads 2 and 3 read kv head 1. */
    @Test
    void groupedQueryHeadsReadTheirKvHead() {
        INDArray x = of(new double[] {1, 10, 3, 20}, 1, 2, 2);
        // hd = 1: rows 0-3 q = 0, rows 4-5 k = 0, row 6 v head 0 = x[0], row 7 v head 1 = x[1]
        INDArray inW = of(new double[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1}, 8, 2);
        INDArray outW = of(new double[] {1, 2, 0, 0, 0, 0, 10, 20}, 2, 4);
        Attention.Weights w = new Attention.Weights(inW, null, outW, null);
        INDArray out = Attention.forward(x, w, new Attention.Spec(4, 2, 1, 0, 10000, null, 0), 0, null, null)
                .out();
        // out0 = ctx0 + 2·ctx1 = 3·mean(x[0]); out1 = 10·ctx2 + 20·ctx3 = 30·mean(x[1])
        assertValues(new double[] {3 * 1, 30 * 10, 3 * 2, 30 * 15}, out, 1e-12, "GQA mapping");
    }

    @ParameterizedTest(name = "H={0} Hkv={1} hd={2} rd={3} window={4} bias={5} past={6} offset={7}")
    @CsvSource({
        "4, 2, 4, 4, 0, true, 0, 0",
        "4, 2, 4, 2, 3, false, 2, 5",
        "2, 2, 6, 4, 2, true, 3, 3",
        "3, 1, 4, 0, 0, false, 1, 7"
    })
    void forwardMatchesTheLoopReference(
            int h, int hkv, int hd, int rd, int window, boolean bias, int past, int offset) {
        Random rnd = new Random(71 + h + 10L * past);
        Case c = new Case(rnd, 2, 5, 6, new Attention.Spec(h, hkv, hd, rd, 10000, null, window), bias, past);
        Attention.Output o = Attention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV);
        assertClose(NaiveAttention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV), o.out(), 1e-13, "out");
        assertArrayEquals(new long[] {2, 5, hkv, hd}, o.key().shape());
        assertArrayEquals(new long[] {2, 5, hkv, hd}, o.value().shape());
    }

    @Test
    void customSoftmaxScaleAndRotaryBaseReachTheMath() {
        Random rnd = new Random(72);
        Case c = new Case(rnd, 1, 4, 8, new Attention.Spec(2, 1, 4, 4, 500, 0.9, 0), true, 0);
        assertClose(
                NaiveAttention.forward(c.x, c.w, c.spec, 3, null, null),
                Attention.forward(c.x, c.w, c.spec, 3, null, null).out(),
                1e-13,
                "out");
    }

    @ParameterizedTest(name = "window={0} split={1}")
    @CsvSource({"0, 4", "0, 9", "3, 4", "3, 1", "8, 4", "8, 9"})
    void twoSegmentsWithPastKeysEqualTheWholeSequence(int window, int split) {
        // window 3 is smaller than the second part, window 8 larger than it
        Random rnd = new Random(73 + window + split);
        int t = 10;
        Case c = new Case(rnd, 2, t, 8, new Attention.Spec(4, 2, 4, 4, 10000, null, window), true, 0);
        INDArray whole = Attention.forward(c.x, c.w, c.spec, 0, null, null).out();
        INDArray x1 = c.x.get(all(), interval(0, split), all()).dup();
        INDArray x2 = c.x.get(all(), interval(split, t), all()).dup();
        Attention.Output first = Attention.forward(x1, c.w, c.spec, 0, null, null);
        Attention.Output second = Attention.forward(x2, c.w, c.spec, split, first.key(), first.value());
        assertClose(whole.get(all(), interval(0, split), all()), first.out(), 1e-14, "first part");
        assertClose(whole.get(all(), interval(split, t), all()), second.out(), 1e-13, "second part");
        if (window > 0) {
            // a halo of the last W−1 keys is enough
            int keep = Math.min(window - 1, split);
            INDArray haloK = first.key()
                    .get(all(), interval(split - keep, split), all(), all())
                    .dup();
            INDArray haloV = first.value()
                    .get(all(), interval(split - keep, split), all(), all())
                    .dup();
            if (keep > 0) {
                Attention.Output halo = Attention.forward(x2, c.w, c.spec, split, haloK, haloV);
                assertClose(whole.get(all(), interval(split, t), all()), halo.out(), 1e-13, "halo");
            }
        }
    }

    @ParameterizedTest(name = "batch={0} H={1} Hkv={2} rd={3} window={4} bias={5} past={6}")
    @CsvSource({"2, 4, 2, 2, 3, true, 2", "1, 2, 1, 4, 0, false, 0", "1, 2, 2, 4, 2, true, 3", "2, 2, 2, 0, 0, true, 2"
    })
    void gradientsMatchFiniteDifferences(int batch, int h, int hkv, int rd, int window, boolean bias, int past) {
        Random rnd = new Random(74 + h + past);
        Case c = new Case(rnd, batch, 4, 5, new Attention.Spec(h, hkv, 4, rd, 10000, null, window), bias, past);
        long offset = past + 2;
        INDArray r = randn(rnd, batch, 4, 5);
        Attention.Weights start = new Attention.Weights(
                randn(rnd, c.w.inProjWeight().shape()),
                bias ? randn(rnd, c.w.inProjBias().shape()) : null,
                randn(rnd, c.w.outProjWeight().shape()),
                bias ? randn(rnd, c.w.outProjBias().shape()) : null);
        Attention.Weights acc = new Attention.Weights(
                start.inProjWeight().dup(),
                bias ? start.inProjBias().dup() : null,
                start.outProjWeight().dup(),
                bias ? start.outProjBias().dup() : null);
        Attention.Output fwd = Attention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV);
        Attention.Gradients g = Attention.backward(c.x, c.w, c.spec, fwd, r, acc);
        DoubleSupplier loss = () -> GradCheck.dot(
                Attention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV).out(), r);
        GradCheck.check("x", c.x, g.dx(), loss, 1);
        GradCheck.check("in_proj.weight", c.w.inProjWeight(), acc.inProjWeight().sub(start.inProjWeight()), loss, 2);
        GradCheck.check(
                "out_proj.weight", c.w.outProjWeight(), acc.outProjWeight().sub(start.outProjWeight()), loss, 3);
        if (bias) {
            GradCheck.check("in_proj.bias", c.w.inProjBias(), acc.inProjBias().sub(start.inProjBias()), loss, 4);
            GradCheck.check(
                    "out_proj.bias", c.w.outProjBias(), acc.outProjBias().sub(start.outProjBias()), loss, 5);
        }
        if (past > 0) {
            GradCheck.check("past key", c.pastK, g.dPastKey(), loss, 6);
            GradCheck.check("past value", c.pastV, g.dPastValue(), loss, 7);
        } else {
            assertNull(g.dPastKey());
        }
    }

    /**
     * The kernel's query blocks: with block sizes of 1, 2 and 4 tokens (window 0 and 3, past keys, GQA) the output
     * still matches the loop reference and the gradients match finite differences, so block seams, the key ranges a
     * window skips and the per-block masks are all exercised. When the backward's blocks differ from the forward's,
     * it recomputes the probabilities instead of reusing the kept ones.
     */
    @ParameterizedTest(name = "window={0} forward block elements={1} backward={2}")
    @CsvSource({"0, 1, 1", "0, 150, 1", "3, 1, 150", "3, 150, 150", "3, 300, 300"})
    void queryBlocksGiveTheSameOutputAndGradients(int window, long blockElements, long backwardBlockElements) {
        Random rnd = new Random(77 + window);
        Case c = new Case(rnd, 2, 7, 6, new Attention.Spec(4, 2, 4, 4, 10000, null, window), true, 2);
        long offset = 5;
        Attention.Output fwd = Attention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV, blockElements);
        assertClose(NaiveAttention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV), fwd.out(), 1e-13, "out");

        INDArray r = randn(rnd, 2, 7, 6);
        Attention.Weights acc = zerosLike(c.w);
        Attention.Gradients g = Attention.backward(c.x, c.w, c.spec, fwd, r, acc, backwardBlockElements);
        DoubleSupplier loss = () -> GradCheck.dot(
                Attention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV, blockElements)
                        .out(),
                r);
        GradCheck.check("x", c.x, g.dx(), loss, 1);
        GradCheck.check("in_proj.weight", c.w.inProjWeight(), acc.inProjWeight(), loss, 2);
        GradCheck.check("past key", c.pastK, g.dPastKey(), loss, 6);
        GradCheck.check("past value", c.pastV, g.dPastValue(), loss, 7);
    }

    /**
     * The inference path's running softmax over key blocks: block budgets of 1 to 10^6 elements give query blocks
     * of one token up to all of them and key blocks from one key up to all, so first (diagonal) blocks, window
     * edges, blocks no key of which a row may read, and one-token decoding are all compared with the loop reference.
     */
    @ParameterizedTest(name = "T={0} window={1} past={2} block elements={3}")
    @CsvSource({
        "7, 0, 2, 1",
        "7, 0, 2, 40",
        "7, 0, 2, 1000000",
        "7, 3, 2, 1",
        "7, 3, 2, 40",
        "7, 3, 9, 150",
        "1, 0, 12, 8",
        "1, 4, 12, 8",
        "12, 5, 0, 24",
        "12, 1, 3, 24"
    })
    void inferenceMatchesTheLoopReferenceForAnyBlocking(int t, int window, int past, long blockElements) {
        Random rnd = new Random(79 + t + window + past);
        Case c = new Case(rnd, 2, t, 6, new Attention.Spec(4, 2, 4, 4, 10000, null, window), true, past);
        long offset = past + 3;
        Attention.Inference o = Attention.infer(c.x, c.w, c.spec, offset, c.pastK, c.pastV, blockElements);
        assertClose(NaiveAttention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV), o.out(), 1e-13, "out");
        Attention.Output trained = Attention.forward(c.x, c.w, c.spec, offset, c.pastK, c.pastV);
        assertClose(trained.key(), o.key(), 0, "key");
        assertClose(trained.value(), o.value(), 0, "value");
        Attention.Inference kv = Attention.keysAndValues(c.x, c.w, c.spec, offset);
        assertClose(trained.key(), kv.key(), 1e-15, "key without attention");
        assertClose(trained.value(), kv.value(), 1e-15, "value without attention");
    }

    /**
     * The inference kernel's working memory does not depend on how many keys precede: with 30 and with 3,000 past
     * keys it allocates the same bytes (its output and block buffers), while the training kernel's grows with them.
     */
    @Test
    void inferenceMemoryDoesNotGrowWithThePastKeys() {
        long[] inference = new long[2];
        long[] training = new long[2];
        int[] pasts = {30, 3000};
        for (int i = 0; i < pasts.length; i++) {
            AttentionKernel.Geometry geo =
                    new AttentionKernel.Geometry(1, 2, 2, 64, pasts[i], 0, 8, 0.3, DataType.FLOAT);
            Random rnd = new Random(80);
            INDArray q = toFloat(randn(rnd, 1, 2, 128, 8));
            INDArray k = toFloat(randn(rnd, 1, 2, pasts[i] + 64, 8));
            INDArray v = toFloat(randn(rnd, 1, 2, pasts[i] + 64, 8));
            try (io.ssmspark.model.tensor.Scratch scope = io.ssmspark.model.tensor.Scratch.open()) {
                AttentionKernel.attend(q, k, v, geo, 4096);
                inference[i] = scope.bytesAllocated();
            }
            try (io.ssmspark.model.tensor.Scratch scope = io.ssmspark.model.tensor.Scratch.open()) {
                AttentionKernel.forward(q, k, v, geo, 4096);
                training[i] = scope.bytesAllocated();
            }
        }
        assertTrue(
                inference[0] > 0 && inference[1] == inference[0],
                "inference bytes with 30 and 3000 past keys: " + inference[0] + ", " + inference[1]);
        assertTrue(training[1] > 10 * training[0], "training bytes: " + training[0] + ", " + training[1]);
    }

    @Test
    void blockSizeFollowsTheScoreBudgetAndTheWindow() {
        // B=2, Hkv=2, G=2, T=7, Tpast=2: a token's scores are 2·2·2·9 = 72 elements
        AttentionKernel.Geometry full = new AttentionKernel.Geometry(2, 2, 2, 7, 2, 0, 4, 0.5, DataType.DOUBLE);
        assertTrue(full.blockTokens(1) == 1 && full.blockTokens(150) == 2 && full.blockTokens(10_000) == 7);
        assertTrue(full.block(3, 5).equals(new AttentionKernel.Block(3, 5, 0, 7)), "causal keys end at Tpast + i1");
        AttentionKernel.Geometry windowed = new AttentionKernel.Geometry(2, 2, 2, 7, 2, 3, 4, 0.5, DataType.DOUBLE);
        assertTrue(windowed.block(3, 5).equals(new AttentionKernel.Block(3, 5, 3, 7)), "window 3 starts at 2+3-2");
        assertTrue(windowed.blockTokens(150) == 6, "budget over 3 keys per token");
    }

    @Test
    void floatAgreesWithDouble() {
        Random rnd = new Random(75);
        Case c = new Case(rnd, 2, 12, 16, new Attention.Spec(4, 2, 8, 4, 10000, null, 5), true, 3);
        INDArray dy = randn(rnd, 2, 12, 16);
        Attention.Weights w32 = new Attention.Weights(
                toFloat(c.w.inProjWeight()),
                toFloat(c.w.inProjBias()),
                toFloat(c.w.outProjWeight()),
                toFloat(c.w.outProjBias()));
        Attention.Output o64 = Attention.forward(c.x, c.w, c.spec, 40, c.pastK, c.pastV);
        Attention.Output o32 = Attention.forward(toFloat(c.x), w32, c.spec, 40, toFloat(c.pastK), toFloat(c.pastV));
        assertTrue(o32.out().dataType() == DataType.FLOAT);
        assertClose(o64.out(), o32.out(), 1e-5, "out");
        assertClose(o64.key(), o32.key(), 1e-6, "key");
        Attention.Weights g64 = zerosLike(c.w);
        Attention.Weights g32 = zerosLike(w32);
        Attention.Gradients d64 = Attention.backward(c.x, c.w, c.spec, o64, dy, g64);
        Attention.Gradients d32 = Attention.backward(toFloat(c.x), w32, c.spec, o32, toFloat(dy), g32);
        assertClose(d64.dx(), d32.dx(), 1e-5, "dx");
        assertClose(d64.dPastKey(), d32.dPastKey(), 1e-5, "dpast k");
        assertClose(d64.dPastValue(), d32.dPastValue(), 1e-5, "dpast v");
        assertClose(g64.inProjWeight(), g32.inProjWeight(), 1e-5, "d in_proj.weight");
        assertClose(g64.inProjBias(), g32.inProjBias(), 1e-5, "d in_proj.bias");
        assertClose(g64.outProjWeight(), g32.outProjWeight(), 1e-5, "d out_proj.weight");
        assertClose(g64.outProjBias(), g32.outProjBias(), 1e-5, "d out_proj.bias");
    }

    @Test
    void rejectsBadShapesAndPastLongerThanTheOffset() {
        Random rnd = new Random(76);
        Case c = new Case(rnd, 1, 3, 4, new Attention.Spec(2, 1, 2, 2, 10000, null, 0), false, 2);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Attention.forward(c.x, c.w, c.spec, 1, c.pastK, c.pastV));
        assertTrue(e.getMessage().contains("2 past rows") && e.getMessage().contains("position 1"), e.getMessage());
        Attention.Weights bad = new Attention.Weights(c.w.inProjWeight(), null, randn(rnd, 4, 3), null);
        e = assertThrows(IllegalArgumentException.class, () -> Attention.forward(c.x, bad, c.spec, 0, null, null));
        assertTrue(e.getMessage().contains("out_proj.weight") && e.getMessage().contains("[4, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Attention.Spec(3, 2, 4, 4, 10000, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new Attention.Spec(2, 1, 4, 3, 10000, null, 0));
        assertThrows(IllegalArgumentException.class, () -> new Attention.Spec(2, 1, 4, 4, 10000, null, -1));
    }

    private static Attention.Weights zerosLike(Attention.Weights w) {
        return new Attention.Weights(
                w.inProjWeight().like(),
                w.inProjBias() == null ? null : w.inProjBias().like(),
                w.outProjWeight().like(),
                w.outProjBias() == null ? null : w.outProjBias().like());
    }

    /** Random fp64 inputs, weights and past keys/values for one configuration. */
    private static final class Case {
        final INDArray x;
        final Attention.Weights w;
        final Attention.Spec spec;
        final INDArray pastK;
        final INDArray pastV;

        Case(Random rnd, int batch, int t, int d, Attention.Spec spec, boolean bias, int past) {
            this.spec = spec;
            this.x = randn(rnd, batch, t, d);
            double inScale = 1.0 / Math.sqrt(d);
            this.w = new Attention.Weights(
                    randn(rnd, inScale, spec.qkvDim(), d),
                    bias ? randn(rnd, 0.5, spec.qkvDim()) : null,
                    randn(rnd, inScale, d, spec.contextDim()),
                    bias ? randn(rnd, 0.5, d) : null);
            this.pastK = past > 0 ? randn(rnd, batch, past, spec.numHeadsKv(), spec.headDim()) : null;
            this.pastV = past > 0 ? randn(rnd, batch, past, spec.numHeadsKv(), spec.headDim()) : null;
        }
    }
}
