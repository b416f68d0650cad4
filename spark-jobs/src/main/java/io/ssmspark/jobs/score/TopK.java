package io.ssmspark.jobs.score;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The k largest logits of each row among the ids below the model's vocab_size (the padded vocabulary's extra
 * columns are no tokens), as ids, best first (ties: the smaller id first).
 */
final class TopK {
    private TopK() {}

    /** logits [n, V] → ids [n·k] below {@code vocab} (≤ V), row-major. */
    static int[] rows(INDArray logits, int k, int vocab) {
        int n = (int) logits.size(0);
        int v = (int) logits.size(1);
        double[] all =
                logits.castTo(DataType.DOUBLE).dup('c').reshape((long) n * v).toDoubleVector();
        int[] out = new int[n * k];
        for (int r = 0; r < n; r++) {
            int base = r * v;
            for (int j = 0; j < k; j++) { // partial selection: k passes over a small vocabulary
                int best = -1;
                for (int id = 0; id < vocab; id++) {
                    if (!taken(out, r * k, j, id) && (best < 0 || all[base + id] > all[base + best])) {
                        best = id;
                    }
                }
                out[r * k + j] = best;
            }
        }
        return out;
    }

    private static boolean taken(int[] out, int from, int count, int id) {
        for (int i = 0; i < count; i++) {
            if (out[from + i] == id) {
                return true;
            }
        }
        return false;
    }
}
