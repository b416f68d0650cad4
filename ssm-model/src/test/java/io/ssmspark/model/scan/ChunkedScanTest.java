package io.ssmspark.model.scan;

import static io.ssmspark.model.scan.ScanTestData.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The chunked scan against the plain sequential loop ({@link ScanReference}): forward and backward, with and
 * without an initial state and a final-state gradient, in fp64 (≤ 1e-10) and fp32 (≤ 1e-4), for lengths around the
 * chunk (Q = 64: 63, 64, 65) and far from it, with the mixer's chunk and with blocks of one chunk.
 */
class ChunkedScanTest {
    private static final int B = 2, D = 5, N = 3;

    @ParameterizedTest(name = "T = {0}")
    @ValueSource(ints = {1, 63, 64, 65, 257, 1000})
    void forwardEqualsTheSequentialReference(int t) {
        ScanInputs in = ScanTestData.inputs(t, B, t, D, N, true, DataType.DOUBLE);
        INDArray h0 = ScanTestData.state(t + 1, in);
        for (INDArray initial : new INDArray[] {null, h0}) {
            ScanResult ref = ScanReference.forward(in, initial);
            for (int[] chunking : new int[][] {
                {64, Integer.MAX_VALUE}, {ChunkedScan.DEFAULT_CHUNK, Integer.MAX_VALUE}, {64, 1}, {7, 3}
            }) {
                String what = "T " + t + " Q " + chunking[0] + " chunks/block " + chunking[1]
                        + (initial == null ? "" : " from a state");
                ScanResult fp64 = ChunkedScan.forward(in, chunking[0], initial, chunking[1]);
                assertTrue(relErr(fp64.y(), ref.y()) <= 1e-10, what + ": fp64 y " + relErr(fp64.y(), ref.y()));
                assertTrue(relErr(fp64.finalState(), ref.finalState()) <= 1e-10, what + ": fp64 final state");
                assertTrue(relErr(fp64.dtSum(), ref.dtSum()) <= 1e-12, what + ": Σ dt");

                ScanInputs f = ScanTestData.cast(in, DataType.FLOAT);
                ScanResult ref32 = ScanReference.forward(f, initial == null ? null : initial.castTo(DataType.FLOAT));
                ScanResult fp32 = ChunkedScan.forward(
                        f, chunking[0], initial == null ? null : initial.castTo(DataType.FLOAT), chunking[1]);
                assertEquals(DataType.FLOAT, fp32.y().dataType());
                assertTrue(relErr(fp32.y(), ref32.y()) <= 1e-4, what + ": fp32 y " + relErr(fp32.y(), ref32.y()));
                assertTrue(relErr(fp32.finalState(), ref32.finalState()) <= 1e-4, what + ": fp32 final state");
            }
        }
    }

    @ParameterizedTest(name = "T = {0}, Q = {1}, chunks per block {2}")
    @CsvSource({
        "1, 64, 1000",
        "63, 64, 1000",
        "64, 64, 1000",
        "65, 64, 1000",
        "65, 64, 1",
        "257, 64, 2",
        "1000, 64, 1000",
        "1000, 32, 3",
        "130, 13, 4"
    })
    void backwardEqualsTheReferenceAdjoint(int t, int chunk, int chunksPerBlock) {
        ScanInputs in = ScanTestData.inputs(10 + t, B, t, D, N, true, DataType.DOUBLE);
        Random r = new Random(t);
        INDArray h0 = ScanTestData.state(t + 2, in);
        INDArray dy = ScanTestData.uniform(r, -1, 1, B, t, D);
        INDArray dFinal = ScanTestData.uniform(r, -1, 1, B, D, N);
        ScanGradients ref = ScanReference.backward(in, h0, dy, dFinal);
        ScanGradients got = ChunkedScan.backward(in, chunk, h0, dy, dFinal, chunksPerBlock);
        assertGradientsClose("fp64 T " + t, got, ref, 1e-10);

        ScanInputs f = ScanTestData.cast(in, DataType.FLOAT);
        ScanGradients ref32 = ScanReference.backward(
                f, h0.castTo(DataType.FLOAT), dy.castTo(DataType.FLOAT), dFinal.castTo(DataType.FLOAT));
        ScanGradients got32 = ChunkedScan.backward(
                f,
                chunk,
                h0.castTo(DataType.FLOAT),
                dy.castTo(DataType.FLOAT),
                dFinal.castTo(DataType.FLOAT),
                chunksPerBlock);
        assertGradientsClose("fp32 T " + t, got32, ref32, 1e-4);

        // without an initial state, a final-state gradient or D
        ScanInputs noD = new ScanInputs(in.x(), in.dt(), in.A(), in.B(), in.C(), null);
        ScanGradients plain = ChunkedScan.backward(noD, chunk, null, dy, null, chunksPerBlock);
        assertGradientsClose("fp64 plain T " + t, plain, ScanReference.backward(noD, null, dy, null), 1e-10);
        assertEquals(null, plain.dD());
    }

    /** The reference adjoint itself, against central differences of the reference forward (fp64). */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        ScanInputs in = ScanTestData.inputs(3, 2, 9, 3, 2, true, DataType.DOUBLE);
        Random r = new Random(4);
        INDArray h0 = ScanTestData.state(5, in);
        INDArray ry = ScanTestData.uniform(r, -1, 1, 2, 9, 3);
        INDArray rs = ScanTestData.uniform(r, -1, 1, 2, 3, 2);
        java.util.function.DoubleSupplier loss = () -> {
            ScanResult o = ScanReference.forward(in, h0);
            return o.y().mul(ry).sumNumber().doubleValue()
                    + o.finalState().mul(rs).sumNumber().doubleValue();
        };
        ScanGradients g = ScanReference.backward(in, h0, ry, rs);
        INDArray[][] checks = {
            {in.x(), g.dx()},
            {in.dt(), g.ddt()},
            {in.A(), g.dA()},
            {in.B(), g.dB()},
            {in.C(), g.dC()},
            {in.D(), g.dD()},
            {h0, g.dInitialState()}
        };
        String[] names = {"x", "dt", "A", "B", "C", "D", "initial state"};
        for (int i = 0; i < checks.length; i++) {
            INDArray p = checks[i][0];
            io.ssmspark.model.testing.FiniteDifferenceCheck.check(
                    names[i],
                    p,
                    checks[i][1],
                    io.ssmspark.model.testing.FiniteDifferenceCheck.entries(p.length(), 20, r),
                    loss,
                    1e-5,
                    1e-7);
        }
    }

    /** A run from zero plus the initial state's term equals the run from that state; the summary moves the state. */
    @ParameterizedTest(name = "T = {0}")
    @ValueSource(ints = {1, 40, 300})
    void initialStateTermAndSummaryComposeSegments(int t) {
        ScanInputs in = ScanTestData.inputs(20 + t, B, t, D, N, true, DataType.DOUBLE);
        INDArray h0 = ScanTestData.state(t, in);
        ScanResult fromState = ChunkedScan.forward(in, 16, h0);
        ScanResult fromZero = ChunkedScan.forward(in, 16, null);
        INDArray y = fromZero.y().dup('c');
        ChunkedScan.addInitialStateContribution(in, 16, h0, y);
        assertTrue(relErr(y, fromState.y()) <= 1e-12, "y0 + term");
        assertTrue(relErr(fromZero.summary(in.A()).apply(h0), fromState.finalState()) <= 1e-12, "α⊙S + E");
        assertTrue(relErr(fromZero.y(), fromState.y()) > 1e-3, "the state matters here");

        // three segments: exclusive scan of summaries gives each its initial state
        int[] cuts = {0, t / 3, 2 * t / 3, t};
        java.util.List<ScanSummary> summaries = new java.util.ArrayList<>();
        java.util.List<ScanInputs> parts = new java.util.ArrayList<>();
        for (int k = 0; k < 3; k++) {
            ScanInputs part = slice(in, cuts[k], cuts[k + 1]);
            parts.add(part);
            summaries.add(
                    part.seqLen() == 0
                            ? ScanSummary.identity(DataType.DOUBLE, in.stateShape())
                            : ChunkedScan.forward(part, 16, null).summary(in.A()));
        }
        java.util.List<INDArray> starts = ScanSummary.initialStates(summaries, h0);
        for (int k = 0; k < 3; k++) {
            if (parts.get(k).seqLen() == 0) {
                continue;
            }
            INDArray expected = fromState.y().get(all(), interval(cuts[k], cuts[k + 1]), all());
            assertTrue(
                    relErr(ChunkedScan.forward(parts.get(k), 16, starts.get(k)).y(), expected) <= 1e-12,
                    "segment " + k);
        }
    }

    @Test
    void oneTokenStepsEqualTheScan() {
        ScanInputs in = ScanTestData.inputs(8, B, 20, D, N, true, DataType.DOUBLE);
        INDArray state = ScanTestData.state(9, in);
        ScanResult whole = ChunkedScan.forward(in, 8, state.dup());
        for (int t = 0; t < 20; t++) {
            ScanInputs one = slice(in, t, t + 1);
            INDArray y = ScanStep.step(
                    one.x().reshape(B, D),
                    one.dt().reshape(B, D),
                    in.A(),
                    one.B().reshape(B, N),
                    one.C().reshape(B, N),
                    in.D(),
                    state);
            assertTrue(relErr(y, whole.y().get(all(), interval(t, t + 1), all()).reshape(B, D)) <= 1e-12, "token " + t);
        }
        assertTrue(relErr(state, whole.finalState()) <= 1e-12, "state after the steps");
    }

    /**
     * T = 10^6 in fp32 (one block of 31,250 chunks as lanes) with Σ dt·|A| up to ~10^7: every value finite and
     * equal to the fp64 loop; α of the whole run underflows to exactly 0, as exp of a large negative number should.
     */
    @Test
    void millionTokensInFp32StayFiniteAndExact() {
        int t = 1_000_000;
        ScanInputs in = ScanTestData.inputs(77, 1, t, 2, 2, true, DataType.DOUBLE);
        ScanResult ref = ScanReference.forward(in, null);
        ScanInputs f = ScanTestData.cast(in, DataType.FLOAT);
        ScanResult out = ChunkedScan.forward(f, ChunkedScan.DEFAULT_CHUNK, null);
        assertFalse(out.y().isNaN().any() || out.y().isInfinite().any(), "y has NaN or Inf");
        assertFalse(
                out.finalState().isNaN().any() || out.finalState().isInfinite().any(), "state has NaN or Inf");
        assertTrue(relErr(out.y(), ref.y()) <= 1e-4, "y " + relErr(out.y(), ref.y()));
        assertTrue(relErr(out.finalState(), ref.finalState()) <= 1e-4, "final state");
        assertEquals(0.0, out.summary(f.A()).alpha().amaxNumber().doubleValue(), 0.0);
    }

    /** The grouped (√M) inter-chunk recurrence equals the plain loop, in both directions and with no input. */
    @ParameterizedTest(name = "M = {0}")
    @ValueSource(ints = {1, 5, 32, 33, 100, 1000, 1090})
    void groupedChunkRecurrenceEqualsThePlainLoop(int m) {
        Random r = new Random(m);
        int s = 3;
        INDArray alpha = ScanTestData.uniform(r, 0.2, 1.0, m, s);
        INDArray e = ScanTestData.uniform(r, -1, 1, m, s);
        INDArray h0 = ScanTestData.uniform(r, -1, 1, s);
        for (boolean reverse : new boolean[] {false, true}) {
            for (INDArray input : new INDArray[] {e, null}) {
                double[] h = h0.toDoubleVector();
                double[][] expected = new double[m][s];
                for (int i = 0; i < m; i++) {
                    int row = reverse ? m - 1 - i : i;
                    for (int c = 0; c < s; c++) {
                        expected[row][c] = h[c];
                        h[c] = alpha.getDouble(row, c) * h[c] + (input == null ? 0 : input.getDouble(row, c));
                    }
                }
                INDArray starts = Nd4j.zeros(DataType.DOUBLE, m, s);
                INDArray running = h0.dup();
                ChunkRecurrence.run(alpha, input, starts, running, reverse);
                String what = "M " + m + (reverse ? " reverse" : "") + (input == null ? " no input" : "");
                assertTrue(relErr(starts, Nd4j.create(expected)) <= 1e-13, what + ": starts");
                assertTrue(relErr(running, Nd4j.create(h)) <= 1e-13, what + ": final");
            }
        }
    }

    @Test
    void refusesMisshapedInputsByName() {
        ScanInputs ok = ScanTestData.inputs(1, 1, 8, 4, 2, true, DataType.DOUBLE);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new ScanInputs(ok.x(), Nd4j.zeros(DataType.DOUBLE, 1, 7, 4), ok.A(), ok.B(), ok.C(), ok.D()));
        assertEquals("tensor 'dt': expected shape [1, 8, 4] but found [1, 7, 4]", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new ScanInputs(ok.x(), ok.dt(), ok.A(), ok.B(), Nd4j.zeros(DataType.DOUBLE, 1, 8, 3), ok.D()));
        assertEquals("tensor 'C': expected shape [1, 8, 2] but found [1, 8, 3]", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> ChunkedScan.forward(ok, 4, Nd4j.zeros(DataType.DOUBLE, 1, 4, 3)));
        assertEquals(
                "scan initialState: expected a DOUBLE array of shape [1, 4, 2] but found DOUBLE [1, 4, 3]",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ChunkedScan.forward(ok, 0, null));
        assertEquals("scan chunk length Q must be positive but is 0", e.getMessage());
    }

    /** Tokens [from, to) of every input. */
    static ScanInputs slice(ScanInputs in, int from, int to) {
        return new ScanInputs(
                part(in.x(), from, to),
                part(in.dt(), from, to),
                in.A(),
                part(in.B(), from, to),
                part(in.C(), from, to),
                in.D());
    }

    private static INDArray part(INDArray a, int from, int to) {
        return a.get(all(), interval(from, to), all()).dup('c');
    }

    private static void assertGradientsClose(String what, ScanGradients got, ScanGradients ref, double tol) {
        assertClose(what + " dx", got.dx(), ref.dx(), tol);
        assertClose(what + " ddt", got.ddt(), ref.ddt(), tol);
        assertClose(what + " dA", got.dA(), ref.dA(), tol);
        assertClose(what + " dB", got.dB(), ref.dB(), tol);
        assertClose(what + " dC", got.dC(), ref.dC(), tol);
        if (ref.dD() != null) {
            assertClose(what + " dD", got.dD(), ref.dD(), tol);
        }
        assertClose(what + " dInitialState", got.dInitialState(), ref.dInitialState(), tol);
    }

    private static void assertClose(String what, INDArray got, INDArray ref, double tol) {
        assertEquals(java.util.Arrays.toString(ref.shape()), java.util.Arrays.toString(got.shape()), what + " shape");
        double err = relErr(got, ref);
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
    }
}
