package io.ssmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class AdamWTest {
    static final int N = 11;
    static final double[] MASK = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0};
    static final double[] NO_MASK = new double[N];
    static final double[] LRS = {0.0, 3e-3, 1e-2, 7e-3, 2e-2, 5e-3};

    static double[] initialParameters() {
        Random rnd = new Random(7);
        double[] p = new double[N];
        for (int i = 0; i < N; i++) {
            p[i] = rnd.nextGaussian();
        }
        return p;
    }

    /**
     * Gradient of step k: mostly O(1), but entries 3 and 8 are around 1e-9 so eps (1e-8) dominates the
     * denominator there, entry 5 is 0 at every step, and entry 9 changes sign each step.
     */
    static double[] gradient(int k) {
        Random rnd = new Random(100 + k);
        double[] g = new double[N];
        for (int i = 0; i < N; i++) {
            g[i] = rnd.nextGaussian();
        }
        g[3] *= 1e-9;
        g[8] *= 1e-9;
        g[5] = 0;
        g[9] = (k % 2 == 0 ? 1 : -1) * (0.5 + k);
        return g;
    }

    static INDArray vector(double[] values, DataType type) {
        return Nd4j.createFromArray(values).castTo(type);
    }

    /** ND4J and reference parameters after LRS.length steps. */
    static double[][] runBoth(AdamWSettings settings, double[] mask, DataType type) {
        AdamW adamw = new AdamW(vector(mask, type), settings);
        ReferenceAdamW reference = new ReferenceAdamW(settings, mask);
        double[] expected = initialParameters();
        INDArray params = vector(expected, type);
        for (int k = 0; k < LRS.length; k++) {
            double[] g = gradient(k);
            adamw.step(params, vector(g, type), LRS[k]);
            reference.step(expected, g, LRS[k]);
        }
        assertEquals(LRS.length, adamw.step());
        return new double[][] {params.castTo(DataType.DOUBLE).toDoubleVector(), expected};
    }

    @Test
    void fp64MatchesReferenceBitwiseWithDecayMask() {
        double[][] r = runBoth(AdamWSettings.defaults(), MASK, DataType.DOUBLE);
        // One IEEE operation per ND4J op, in the reference's order: the same bits.
        assertArrayEquals(r[1], r[0], 0.0);
        assertTrue(Math.abs(r[0][0] - initialParameters()[0]) > 1e-3, "the parameters moved");
    }

    @Test
    void fp64MatchesReferenceWithoutDecay() {
        double[][] r = runBoth(AdamWSettings.defaults().withWeightDecay(0.0), NO_MASK, DataType.DOUBLE);
        assertArrayEquals(r[1], r[0], 0.0);
        // a mask of ones with weight decay 0 is the same function
        double[][] ones = runBoth(AdamWSettings.defaults().withWeightDecay(0.0), ones(), DataType.DOUBLE);
        assertArrayEquals(r[0], ones[0], 0.0);
    }

    @Test
    void fp32MatchesFp64Reference() {
        double[][] r = runBoth(AdamWSettings.defaults(), MASK, DataType.FLOAT);
        for (int i = 0; i < N; i++) {
            assertEquals(r[1][i], r[0][i], 2e-6 * Math.max(1, Math.abs(r[1][i])), "element " + i);
        }
    }

    @Test
    void firstStepIsSignedLearningRate() {
        // t = 1: m/bc1 = g and sqrt(v/bc2) = |g|, so p1 = p0 - lr * g / (|g| + eps) (no decay here).
        double lr = 0.01;
        double[] g = {2.0, -0.5, 1e-8, 0.0};
        AdamW adamw = new AdamW(Nd4j.zeros(DataType.DOUBLE, 4), AdamWSettings.defaults());
        INDArray p = vector(new double[] {1, 1, 1, 1}, DataType.DOUBLE);
        adamw.step(p, vector(g, DataType.DOUBLE), lr);
        double[] expected = {1 - lr * 2 / (2 + 1e-8), 1 + lr * 0.5 / (0.5 + 1e-8), 1 - lr * 0.5, 1};
        assertArrayEquals(expected, p.toDoubleVector(), 1e-15);
    }

    @Test
    void decayOnlyWhereTheMaskIsOne() {
        // Zero gradient: m = v = 0 and the Adam term is 0 / eps = 0, so only decay moves p:
        // p_k = p_0 * (1 - lr * wd)^k where the mask is 1, and p_k = p_0 bit for bit where it is 0.
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            AdamW adamw = new AdamW(vector(MASK, type), AdamWSettings.defaults());
            double[] p0 =
                    vector(initialParameters(), type).castTo(DataType.DOUBLE).toDoubleVector();
            INDArray p = vector(p0, type);
            INDArray zero = Nd4j.zeros(type, N);
            for (int k = 0; k < 3; k++) {
                adamw.step(p, zero, 0.5);
            }
            double[] after = p.castTo(DataType.DOUBLE).toDoubleVector();
            double factor = Math.pow(1 - 0.5 * 0.1, 3);
            for (int i = 0; i < N; i++) {
                if (MASK[i] == 0) {
                    assertEquals(p0[i], after[i], 0.0, type + " element " + i + " must not decay");
                } else {
                    assertEquals(p0[i] * factor, after[i], 1e-6 * Math.abs(p0[i]), type + " element " + i);
                }
            }
        }
    }

    @Test
    void updatesARowVectorInPlace() {
        AdamW adamw = new AdamW(vector(MASK, DataType.DOUBLE), AdamWSettings.defaults());
        INDArray row = vector(initialParameters(), DataType.DOUBLE).reshape(1, N);
        INDArray flat = vector(initialParameters(), DataType.DOUBLE);
        adamw.step(row, vector(gradient(0), DataType.DOUBLE).reshape(1, N), 0.01);
        new AdamW(vector(MASK, DataType.DOUBLE), AdamWSettings.defaults())
                .step(flat, vector(gradient(0), DataType.DOUBLE), 0.01);
        assertArrayEquals(flat.toDoubleVector(), row.reshape(N).toDoubleVector(), 0.0);
        assertTrue(flat.getDouble(0) != initialParameters()[0]);
    }

    @Test
    void refusesBadInputsNamingThem() {
        AdamW adamw = new AdamW(vector(MASK, DataType.FLOAT), AdamWSettings.defaults());
        INDArray p = Nd4j.zeros(DataType.FLOAT, N);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> adamw.step(p, Nd4j.zeros(DataType.FLOAT, N + 1), 0.1));
        assertEquals("gradient has 12 elements but this optimizer expects 11 (shape found [12])", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adamw.step(Nd4j.zeros(DataType.DOUBLE, N), p, 0.1));
        assertEquals("parameter vector has type DOUBLE but this optimizer works in FLOAT", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adamw.step(p, p.dup(), Double.NaN));
        assertEquals("AdamW learning rate must be finite and >= 0, found NaN", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adamw.step(Nd4j.zeros(DataType.FLOAT, 2, N), p, 0.1));
        assertEquals("parameter vector must be a vector, found shape [2, 11]", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new AdamW(vector(new double[] {0, 1, 0.5}, DataType.DOUBLE), AdamWSettings.defaults()));
        assertTrue(e.getMessage().startsWith("weight-decay mask must hold only 0 and 1"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> new AdamW(Nd4j.zeros(DataType.INT, 3), AdamWSettings.defaults()));
        assertEquals("weight-decay mask must be FLOAT or DOUBLE, found INT", e.getMessage());
        assertEquals(0, adamw.step(), "no failed call advanced the step");
    }

    @Test
    void settingsAreValidated() {
        AdamWSettings d = AdamWSettings.defaults();
        assertEquals(new AdamWSettings(0.9, 0.95, 1e-8, 0.1), d);
        assertEquals(
                "AdamW beta2 must be in [0, 1), found 1.0",
                assertThrows(IllegalArgumentException.class, () -> d.withBetas(0.9, 1.0))
                        .getMessage());
        assertEquals(
                "AdamW eps must be finite and > 0, found 0.0",
                assertThrows(IllegalArgumentException.class, () -> d.withEps(0.0))
                        .getMessage());
        assertEquals(
                "AdamW weightDecay must be finite and >= 0, found -0.1",
                assertThrows(IllegalArgumentException.class, () -> d.withWeightDecay(-0.1))
                        .getMessage());
    }

    static double[] ones() {
        double[] a = new double[N];
        java.util.Arrays.fill(a, 1.0);
        return a;
    }

    /**
     * Each element's update depends only on its own inputs, so shards of the vector, each with its own optimizer
     * over its slice of the mask (restored from its slice of the state at every step, as a sharded reducer does),
     * end bit for bit where the whole vector does.
     */
    @Test
    void updatingShardsEqualsUpdatingTheWholeVector() {
        AdamWSettings settings = AdamWSettings.defaults().withWeightDecay(0.1);
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            AdamW whole = new AdamW(vector(MASK, type), settings);
            INDArray wholeParams = vector(initialParameters(), type);
            long[] cuts = {0, 4, 5, N};
            INDArray[] params = new INDArray[cuts.length - 1];
            AdamWState[] states = new AdamWState[cuts.length - 1];
            for (int s = 0; s < params.length; s++) {
                params[s] = wholeParams
                        .get(NDArrayIndex.interval(cuts[s], cuts[s + 1]))
                        .dup();
                states[s] = new AdamWState(
                        0, Nd4j.zeros(type, cuts[s + 1] - cuts[s]), Nd4j.zeros(type, cuts[s + 1] - cuts[s]));
            }
            for (int k = 0; k < LRS.length; k++) {
                INDArray g = vector(gradient(k), type);
                whole.step(wholeParams, g, LRS[k]);
                for (int s = 0; s < params.length; s++) {
                    INDArray mask = vector(MASK, type).get(NDArrayIndex.interval(cuts[s], cuts[s + 1]));
                    AdamW shard = new AdamW(mask, settings);
                    shard.restore(states[s]);
                    shard.step(
                            params[s],
                            g.get(NDArrayIndex.interval(cuts[s], cuts[s + 1])).dup(),
                            LRS[k]);
                    states[s] = shard.state();
                }
            }
            for (int s = 0; s < params.length; s++) {
                assertEquals(
                        wholeParams.get(NDArrayIndex.interval(cuts[s], cuts[s + 1])), params[s], type + " shard " + s);
                assertEquals(
                        whole.state().m().get(NDArrayIndex.interval(cuts[s], cuts[s + 1])),
                        states[s].m(),
                        type + " m of shard " + s);
            }
        }
    }
}
