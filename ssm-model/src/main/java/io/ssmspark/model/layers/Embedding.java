package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterAdd;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token embedding: row {@code ids[r]} of W [V, d] becomes output row r. The tied LM head is
 * {@link Linear} without bias on the same weight.
 */
public final class Embedding {

    private Embedding() {}

    /** Returns [ids.length, d]: the rows of {@code weight} for the token ids. */
    public static INDArray forward(INDArray weight, int[] ids) {
        long[] ws = Shapes.requireRank("weight", weight, 2);
        requireIds(ids, ws[0]);
        return Nd4j.pullRows(weight, 1, ids);
    }

    /** Same, with the ids as an integer INDArray of any shape (read in c order). */
    public static INDArray forward(INDArray weight, INDArray ids) {
        return forward(weight, toIds(ids));
    }

    /**
     * Scatter-adds dy's rows into dW: dW[ids[r]] += dy[r]. Repeated ids accumulate; the adds run in row order
     * (ND4J's scatter_add with its lock flag set, so the result is deterministic).
     */
    public static void backward(int[] ids, INDArray dy, INDArray dWeight) {
        long[] ws = Shapes.requireRank("dWeight", dWeight, 2);
        DataType dt = dWeight.dataType();
        requireIds(ids, ws[0]);
        Shapes.requireShape("dy", dy, dt, ids.length, ws[1]);
        if (ids.length == 0) {
            return;
        }
        INDArray target = Shapes.contiguous(dWeight);
        ScatterAdd op = new ScatterAdd(target, Nd4j.createFromArray(ids), Shapes.contiguous(dy));
        op.addBArgument(true); // lock: apply the updates one after another, so duplicate ids all land
        op.addOutputArgument(target);
        Nd4j.exec(op);
        if (target != dWeight) {
            dWeight.assign(target);
        }
    }

    /** Same, with the ids as an integer INDArray of any shape (read in c order). */
    public static void backward(INDArray ids, INDArray dy, INDArray dWeight) {
        backward(toIds(ids), dy, dWeight);
    }

    private static int[] toIds(INDArray ids) {
        Shapes.require(ids != null, "tensor 'ids' is required but was null");
        Shapes.require(
                ids.dataType().isIntType(), "tensor 'ids': expected an integer dtype but found %s", ids.dataType());
        return ids.ravel().toIntVector();
    }

    private static void requireIds(int[] ids, long vocab) {
        Shapes.require(ids != null, "token ids are required but were null");
        for (int r = 0; r < ids.length; r++) {
            int id = ids[r];
            Shapes.require(
                    id >= 0 && id < vocab,
                    "token id %d at position %d is outside the embedding's vocabulary [0, %d)",
                    id,
                    r,
                    vocab);
        }
    }
}
