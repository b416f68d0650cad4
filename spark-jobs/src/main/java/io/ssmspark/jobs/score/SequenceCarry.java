package io.ssmspark.jobs.score;

import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.tensor.Scratch;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the segments of one sequence seen so far hand to the next one, per layer (DESIGN.md, "State passing across
 * segments"): the last rows of their mixer tails (as many as the mixer's halo reads: a Mamba2 layer's pre-conv
 * rows, an attention layer's keys and values) and, for a mixer that carries a state, the state after them. Fresh,
 * everything is null: the sequence start, where the layers begin from zeros. Kept on the driver, by its one fold thread ({@link WaveFold}).
 */
final class SequenceCarry {
    private final Matrix[] firstRows;
    private final Matrix[] secondRows;
    private final Matrix[] states;

    SequenceCarry(int layers) {
        firstRows = new Matrix[layers];
        secondRows = new Matrix[layers];
        states = new Matrix[layers];
    }

    /** A copy that later additions to this carry leave as it is (they replace blocks, never change them). */
    SequenceCarry copy() {
        SequenceCarry c = new SequenceCarry(states.length);
        System.arraycopy(firstRows, 0, c.firstRows, 0, states.length);
        System.arraycopy(secondRows, 0, c.secondRows, 0, states.length);
        System.arraycopy(states, 0, c.states, 0, states.length);
        return c;
    }

    /** The carry as its layer count and, per layer, its three blocks ({@link SegmentRows#write}). */
    void write(DataOutputStream out) throws IOException {
        out.writeInt(states.length);
        for (int l = 0; l < states.length; l++) {
            SegmentRows.write(out, firstRows[l]);
            SegmentRows.write(out, secondRows[l]);
            SegmentRows.write(out, states[l]);
        }
    }

    /** The carry {@link #write} wrote; IOException when its layer count is not {@code layers}. */
    static SequenceCarry read(DataInputStream in, int layers) throws IOException {
        int n = in.readInt();
        if (n != layers) {
            throw new IOException("a carry of " + n + " layers, not the model's " + layers);
        }
        SequenceCarry c = new SequenceCarry(layers);
        for (int l = 0; l < layers; l++) {
            c.firstRows[l] = SegmentRows.read(in);
            c.secondRows[l] = SegmentRows.read(in);
            c.states[l] = SegmentRows.read(in);
        }
        return c;
    }

    /** The earlier tokens' halo rows for the next segment; null first (or when the earlier segments sent none). */
    SegmentRows halo(int layer) {
        return firstRows[layer] == null
                ? null
                : new SegmentRows(SegmentRows.NO_SEGMENT, firstRows[layer], secondRows[layer]);
    }

    /** The state the next segment starts from, [1, n]; null (zeros) first. */
    Matrix state(int layer) {
        return states[layer];
    }

    /** Adds a segment's tail blocks, keeping at most {@code rows} of each (all for full attention). */
    void addTail(int layer, SegmentRows tail, int rows) {
        firstRows[layer] = appendKeepingLast(firstRows[layer], tail.first, rows);
        secondRows[layer] = appendKeepingLast(secondRows[layer], tail.second, rows);
    }

    /** Moves the state past a segment with {@code summary}: S ← mixer's passState (Mamba2: α·S + E). */
    void addSummary(int layer, SegmentRows summary, Mixer mixer) {
        if (summary.second == null) { // a sequence's last segment hands nothing on
            return;
        }
        Matrix before = states[layer];
        states[layer] = Scratch.callStep( // on the driver's one fold thread (WaveFold): one reused block
                () -> {
                    Matrix e = summary.second;
                    return Matrix.of(
                            mixer.passState(
                                    before == null ? null : before.toNd4j(before.rows, before.cols), new INDArray[] {
                                        summary.first.toNd4j(summary.first.rows, summary.first.cols),
                                        e.toNd4j(e.rows, e.cols)
                                    }),
                            e.rows,
                            e.cols);
                });
    }

    private static Matrix appendKeepingLast(Matrix before, Matrix added, int rows) {
        if (added == null) {
            return before;
        }
        List<Matrix> inOrder = new ArrayList<>(2);
        if (before != null) {
            inOrder.add(before);
        }
        inOrder.add(added);
        return Matrix.lastRows(inOrder, rows, false);
    }
}
