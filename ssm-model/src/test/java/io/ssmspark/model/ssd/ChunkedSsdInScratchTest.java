package io.ssmspark.model.ssd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.ssmspark.model.tensor.Scratch;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The SSD's per-thread block buffers (ChunkBufferPool) outlive the scratch scope they are first made in: the forward and
 * the backward give the same numbers in a first scope, in a second one and outside any scope.
 */
class ChunkedSsdInScratchTest {

    @Test
    void blockBuffersMadeInsideOneScopeServeTheNext() {
        // a shape no other test uses, so that the first call below makes fresh blocks inside a scope
        SsdInputs in = SsdTestData.inputs(91, 1, 53, 3, 5, 1, 7, false, DataType.DOUBLE);
        double[][] first = Scratch.call(() -> run(in));
        double[][] second = Scratch.call(() -> run(in));
        double[][] outside = run(in);
        for (int i = 0; i < first.length; i++) {
            assertArrayEquals(outside[i], first[i], 0.0, "output " + i + " in the first scope");
            assertArrayEquals(outside[i], second[i], 0.0, "output " + i + " in the second scope");
        }
    }

    /** y, final state, dx, dB and dInitial, as Java arrays (they leave the scope). */
    private static double[][] run(SsdInputs in) {
        SsdResult r = ChunkedSsd.forward(in, 8, null, 2);
        SsdGradients g = ChunkedSsd.backward(in, 8, null, r.y().mul(0.5), null, 2);
        return new double[][] {
            r.y().ravel().toDoubleVector(),
            r.finalState().ravel().toDoubleVector(),
            g.dx().ravel().toDoubleVector(),
            g.dB().ravel().toDoubleVector(),
            g.dInitialState().ravel().toDoubleVector()
        };
    }
}
