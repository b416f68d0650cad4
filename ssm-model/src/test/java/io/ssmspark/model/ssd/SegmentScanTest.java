package io.ssmspark.model.ssd;

import static io.ssmspark.model.ssd.SsdFormsAgreeTest.assertClose;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Cutting a sequence into segments, running each from a zero state, and passing states with the
 * exclusive scan of (α, E) summaries reproduces the whole sequence (DESIGN.md, "State passing").
 */
class SegmentScanTest {
    static final int T = 100, Q = 16;

    static Stream<Arguments> cuts() {
        return Stream.of(
                Arguments.of("2 uneven", new int[] {37, 63}, DataType.DOUBLE, 1e-10),
                Arguments.of("3 with one shorter than Q", new int[] {50, 5, 45}, DataType.DOUBLE, 1e-10),
                Arguments.of("7 with length-1 segments", new int[] {1, 20, 1, 33, 16, 17, 12}, DataType.DOUBLE, 1e-10),
                Arguments.of("7 in fp32", new int[] {1, 20, 1, 33, 16, 17, 12}, DataType.FLOAT, 1e-4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cuts")
    void segmentsComposeToTheWholeSequence(String name, int[] lengths, DataType dtype, double tol) {
        SsdInputs whole = SsdTestData.inputs(11, 2, T, 4, 3, 2, 5, false, DataType.DOUBLE);
        INDArray s0 = SsdTestData.state(12, whole.dims());
        SsdResult expected = SsdReference.recurrence(whole, s0);
        SsdInputs wholeCast = SsdTestData.cast(whole, dtype);

        List<SsdInputs> segments = new ArrayList<>();
        List<SegmentSummary> summaries = new ArrayList<>();
        List<SsdResult> local = new ArrayList<>();
        int start = 0;
        for (int len : lengths) {
            SsdInputs seg = slice(wholeCast, start, start + len);
            SsdResult fromZero = ChunkedSsd.forward(seg, Q, null);
            segments.add(seg);
            local.add(fromZero);
            summaries.add(fromZero.summary());
            start += len;
        }
        List<INDArray> initial = SegmentSummary.initialStates(summaries, s0.castTo(dtype));
        start = 0;
        for (int k = 0; k < lengths.length; k++) {
            INDArray y = local.get(k).y().add(ChunkedSsd.initialStateContribution(segments.get(k), initial.get(k)));
            INDArray want = expected.y().get(all(), interval(start, start + lengths[k]), all(), all());
            assertClose("segment " + k + " y", y, want, tol);
            start += lengths[k];
        }
        SegmentSummary total = summaries.get(0);
        for (int k = 1; k < summaries.size(); k++) {
            total = total.then(summaries.get(k));
        }
        assertClose("final state", total.apply(s0.castTo(dtype)), expected.finalState(), tol);
    }

    @Test
    void combineIsAssociativeWithIdentity() {
        Random r = new Random(5);
        SegmentSummary a = random(r), b = random(r), c = random(r);
        SegmentSummary left = a.then(b).then(c), right = a.then(b.then(c));
        assertClose("α associativity", left.alpha(), right.alpha(), 1e-14);
        assertClose("E associativity", left.E(), right.E(), 1e-14);
        SegmentSummary id = SegmentSummary.identity(DataType.DOUBLE, a.E().shape());
        assertClose("identity then a (α)", id.then(a).alpha(), a.alpha(), 0);
        assertClose("identity then a (E)", id.then(a).E(), a.E(), 0);
        assertClose("a then identity (E)", a.then(id).E(), a.E(), 0);
        // exclusive scan: element 0 is the identity, element k combines 0..k-1
        List<SegmentSummary> scan = SegmentSummary.exclusiveScan(List.of(a, b, c));
        assertClose("scan[0]", scan.get(0).E(), id.E(), 0);
        assertClose("scan[2]", scan.get(2).E(), a.then(b).E(), 1e-14);
    }

    private static SegmentSummary random(Random r) {
        return new SegmentSummary(SsdTestData.uniform(r, 0.1, 1, 2, 3), SsdTestData.uniform(r, -1, 1, 2, 3, 4, 5));
    }

    static SsdInputs slice(SsdInputs in, int from, int to) {
        return new SsdInputs(
                in.x().get(all(), interval(from, to), all(), all()).dup(),
                in.dt().get(all(), interval(from, to), all()).dup(),
                in.A(),
                in.B().get(all(), interval(from, to), all(), all()).dup(),
                in.C().get(all(), interval(from, to), all(), all()).dup(),
                in.D());
    }
}
