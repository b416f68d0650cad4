package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Next-token cross-entropy on logits [rows, V] with int targets [rows] and optional per-row weights [rows]
 * (a loss mask: 0 ignores a row). Natural log, through a stable log-softmax:
 * nll[r] = log Σ_v exp(l[r,v] − m[r]) − (l[r, target[r]] − m[r]) with m[r] = max_v l[r,v].
 */
public final class CrossEntropy {

    /** Per-row NLL [rows] (unweighted, for every row) and Σ_r weight[r]·nll[r] (Σ nll without weights). */
    public record Result(INDArray rowLoss, double weightedSum) {}

    private CrossEntropy() {}

    /** {@code weights} may be null (every row counts 1). */
    public static Result forward(INDArray logits, int[] targets, INDArray weights) {
        check(logits, targets, weights);
        INDArray shifted = shifted(logits);
        INDArray logSumExp = Transforms.log(Transforms.exp(shifted, true).sum(1), false);
        INDArray targetLogit = shifted.muli(oneHot(targets, logits)).sum(1);
        INDArray rowLoss = logSumExp.subi(targetLogit);
        double sum = weights == null
                ? rowLoss.sumNumber().doubleValue()
                : rowLoss.mul(weights).sumNumber().doubleValue();
        return new Result(rowLoss, sum);
    }

    /** Same, with the targets as an integer INDArray [rows]. */
    public static Result forward(INDArray logits, INDArray targets, INDArray weights) {
        return forward(logits, toTargets(targets), weights);
    }

    /**
     * The gradient of scale · Σ_r weight[r]·nll[r]: dlogits = (softmax(l) − onehot(target)) · weight · scale
     * (e.g. scale = 1 / the global token count).
     */
    public static INDArray backward(INDArray logits, int[] targets, INDArray weights, double scale) {
        check(logits, targets, weights);
        Shapes.require(Double.isFinite(scale), "cross-entropy scale: expected a finite value but found %s", scale);
        INDArray probs = Transforms.exp(shifted(logits), false);
        Ops.div(probs, probs.sum(true, 1), probs);
        INDArray d = probs.subi(oneHot(targets, logits));
        if (weights != null) {
            Ops.mul(d, weights.reshape(weights.length(), 1), d);
        }
        return d.muli(scale);
    }

    /** Same, with the targets as an integer INDArray [rows]. */
    public static INDArray backward(INDArray logits, INDArray targets, INDArray weights, double scale) {
        return backward(logits, toTargets(targets), weights, scale);
    }

    /** l − max per row: a new array. */
    private static INDArray shifted(INDArray logits) {
        return Ops.sub(logits, logits.max(true, 1), logits.ulike());
    }

    private static INDArray oneHot(int[] targets, INDArray logits) {
        INDArray out = Nd4j.createUninitialized(logits.dataType(), logits.shape());
        Nd4j.exec(new OneHot(Nd4j.createFromArray(targets), out, (int) logits.size(1)));
        return out;
    }

    private static int[] toTargets(INDArray targets) {
        Shapes.require(targets != null, "tensor 'targets' is required but was null");
        Shapes.require(
                targets.dataType().isIntType() && targets.rank() == 1,
                "tensor 'targets': expected an integer vector but found %s %s",
                targets.dataType(),
                java.util.Arrays.toString(targets.shape()));
        return targets.toIntVector();
    }

    private static void check(INDArray logits, int[] targets, INDArray weights) {
        long[] ls = Shapes.requireRank("logits", logits, 2);
        Shapes.require(targets != null, "cross-entropy targets are required but were null");
        Shapes.require(
                targets.length == ls[0],
                "cross-entropy targets: expected %d (one per logits row) but found %d",
                ls[0],
                targets.length);
        for (int r = 0; r < targets.length; r++) {
            Shapes.require(
                    targets[r] >= 0 && targets[r] < ls[1],
                    "cross-entropy target %d at row %d is outside the vocabulary [0, %d)",
                    targets[r],
                    r,
                    ls[1]);
        }
        DataType dt = logits.dataType();
        Shapes.requireShapeIfPresent("weights", weights, dt, ls[0]);
    }
}
