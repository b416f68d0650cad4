package io.ssmspark.jobs.baseline;

import io.ssmspark.data.Window;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Training windows as DL4J DataSets in the NCW layout DL4J's recurrent layers expect: features
 * {@code [mb, vocab, T]} one-hot of tokens[0..T-1], labels {@code [mb, vocab, T]} one-hot of the next
 * tokens tokens[1..T] (a window holds T + 1 tokens).
 */
public final class WindowDataSets {
    private WindowDataSets() {}

    public static DataSet of(List<Window> windows, int vocab) {
        if (windows.isEmpty()) {
            throw new IllegalArgumentException("no windows to convert into a DataSet");
        }
        int length = windows.get(0).tokens.length;
        if (length < 2) {
            throw new IllegalArgumentException("window " + windows.get(0).index + " holds " + length
                    + " tokens; expected at least 2 (inputs and shifted targets)");
        }
        int[][] tokens = new int[windows.size()][];
        for (int i = 0; i < tokens.length; i++) {
            Window w = windows.get(i);
            if (w.tokens.length != length) {
                throw new IllegalArgumentException("window " + w.index + " holds " + w.tokens.length
                        + " tokens, expected " + length + " like window " + windows.get(0).index);
            }
            for (int t = 0; t < length; t++) {
                if (w.tokens[t] < 0 || w.tokens[t] >= vocab) {
                    throw new IllegalArgumentException("window " + w.index + ", position " + t + ": token "
                            + w.tokens[t] + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
            tokens[i] = w.tokens;
        }
        INDArray ids = Nd4j.createFromArray(tokens); // [mb, T + 1]
        INDArray inputs = ids.get(NDArrayIndex.all(), NDArrayIndex.interval(0, length - 1))
                .dup();
        INDArray targets =
                ids.get(NDArrayIndex.all(), NDArrayIndex.interval(1, length)).dup();
        return new DataSet(oneHot(inputs, vocab), oneHot(targets, vocab));
    }

    /** {@code [mb, T]} ids to {@code [mb, vocab, T]} float one-hot (the class axis in the middle). */
    private static INDArray oneHot(INDArray ids, int vocab) {
        INDArray out = Nd4j.create(DataType.FLOAT, ids.size(0), vocab, ids.size(1));
        Nd4j.exec(new OneHot(ids, out, vocab, 1, 1.0, 0.0));
        return out;
    }
}
