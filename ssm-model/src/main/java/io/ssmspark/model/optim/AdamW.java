package io.ssmspark.model.optim;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import java.util.Arrays;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.floating.Sqrt;
import org.nd4j.linalg.factory.Nd4j;

/**
 * AdamW (Loshchilov &amp; Hutter, decoupled weight decay) over the model's one flat parameter vector,
 * with the same equations as torch.optim.AdamW (amsgrad off). For the update that takes the optimizer
 * from t-1 to t completed steps (t = 1, 2, ...), learning rate lr, gradient g and decay mask w (1 where
 * the schema's weightDecay flag is set, else 0):
 *
 * <pre>
 *   p   = p * (1 - lr * weightDecay * w)                      decoupled decay, before the Adam step
 *   m   = beta1 * m + (1 - beta1) * g
 *   v   = beta2 * v + (1 - beta2) * (g * g)
 *   bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t                     bias corrections (Java double)
 *   p   = p - (lr / bc1) * (m / (sqrt(v) / sqrt(bc2) + eps))
 * </pre>
 *
 * m and v start at 0. Where w = 0 the first line multiplies by exactly 1, so those entries are never
 * decayed. Every line is a few whole-vector ND4J elementwise ops (one arithmetic operation per op, in
 * the order written, through one preallocated scratch vector), so each element's result depends only on
 * its own inputs: the update is bitwise reproducible whatever the thread count, and a run restored from
 * {@link #state()} continues bit for bit. The scalars (bc1, bc2, lr / bc1, sqrt(bc2)) are computed in
 * Java double with {@link StrictMath}; in a FLOAT optimizer ND4J rounds each scalar to float when it
 * meets the vector.
 *
 * <p>Why not ND4J's updaters: ND4J 1.0.0-M2.1 has no AdamW, and its {@code AdamUpdater}
 * ({@code org.nd4j.linalg.learning}) has no weight decay at all, let alone one masked per element; it
 * also folds the bias corrections into the step size and adds eps to the uncorrected sqrt(v) (Kingma
 * &amp; Ba's "efficient" form), which is a different function from torch's AdamW for small v. Its state
 * is one packed [m, v] view. The five vector ops here are simpler than bending it to fit.
 *
 * <p>Memory: m, v, the decay mask and one scratch vector, each as long as the parameter vector.
 * Not thread-safe; the driver calls it once per step.
 */
public final class AdamW {
    private final AdamWSettings settings;
    private final DataType type;
    private final long size;
    private final INDArray decayMask;
    private final INDArray m;
    private final INDArray v;
    private final INDArray scratch;
    private long step;

    /** An optimizer for the flat parameter vector of {@code schema}, decaying where its tensors say so. */
    public AdamW(CheckpointSchema schema, DataType type, AdamWSettings settings) {
        this(WeightDecayMask.of(schema, type), settings);
    }

    /**
     * An optimizer for a flat vector of {@code decayMask.length()} parameters. The mask (FLOAT or DOUBLE,
     * every entry 0 or 1) is copied; its type is the type of the parameters, gradients and state.
     */
    public AdamW(INDArray decayMask, AdamWSettings settings) {
        if (settings == null) {
            throw new IllegalArgumentException("AdamW settings must not be null");
        }
        INDArray mask = flatView(decayMask, "weight-decay mask");
        double notBinary = mask.mul(mask.rsub(1.0)).amaxNumber().doubleValue(); // w * (1 - w) is 0 iff w in {0, 1}
        if (!(notBinary == 0.0)) {
            throw new IllegalArgumentException(
                    "weight-decay mask must hold only 0 and 1, found an entry w with |w * (1 - w)| = " + notBinary);
        }
        this.settings = settings;
        this.type = mask.dataType();
        this.size = mask.length();
        this.decayMask = mask.dup();
        this.m = Nd4j.zeros(type, size);
        this.v = Nd4j.zeros(type, size);
        this.scratch = Nd4j.create(type, size);
    }

    public AdamWSettings settings() {
        return settings;
    }

    /** FLOAT or DOUBLE: the type of parameters, gradients and state. */
    public DataType dataType() {
        return type;
    }

    /** Length of the flat parameter vector. */
    public long size() {
        return size;
    }

    /** Number of updates applied so far (t of the last update). */
    public long step() {
        return step;
    }

    /** A copy of the 0/1 weight-decay mask. */
    public INDArray decayMask() {
        return decayMask.dup();
    }

    /**
     * Applies one update to {@code parameters} in place, with learning rate {@code lr}, and advances the
     * step counter. {@code gradient} (already averaged and clipped; see {@link GradientClipping}) is read
     * only. Both must be contiguous vectors of this optimizer's length and type.
     */
    public void step(INDArray parameters, INDArray gradient, double lr) {
        checkInputs(parameters, gradient);
        INDArray p = flatView(parameters, "parameter vector");
        INDArray g = flatView(gradient, "gradient");
        if (!(lr >= 0) || !Double.isFinite(lr)) {
            throw new IllegalArgumentException("AdamW learning rate must be finite and >= 0, found " + lr);
        }
        long t = step + 1;
        double beta1 = settings.beta1();
        double beta2 = settings.beta2();

        double decay = lr * settings.weightDecay();
        if (decay != 0.0) {
            decayMask.mul(-decay, scratch); // -lr*wd*w (w = 0 gives -0)
            scratch.addi(1.0); // 1 - lr*wd*w: exactly 1 where w = 0
            p.muli(scratch);
        }

        m.muli(beta1);
        g.mul(1.0 - beta1, scratch);
        m.addi(scratch);

        v.muli(beta2);
        g.mul(g, scratch);
        scratch.muli(1.0 - beta2);
        v.addi(scratch);

        double bc1 = 1.0 - StrictMath.pow(beta1, t);
        double bc2 = 1.0 - StrictMath.pow(beta2, t);
        Nd4j.exec(new Sqrt(v, scratch));
        scratch.divi(StrictMath.sqrt(bc2));
        scratch.addi(settings.eps());
        m.div(scratch, scratch); // m / denom
        scratch.muli(lr / bc1);
        p.subi(scratch);

        step = t;
    }

    /**
     * A snapshot (copies, so later steps do not change it; transiently two more vectors of memory) of
     * m, v and the step counter, for a checkpoint; see {@link AdamWState#write}.
     */
    public AdamWState state() {
        return new AdamWState(step, m.dup(), v.dup());
    }

    /**
     * Replaces m, v and the step counter with {@code state}'s (copied). The state must have this
     * optimizer's type and length; nothing changes when it does not.
     */
    public void restore(AdamWState state) {
        if (state == null) {
            throw new IllegalArgumentException("AdamW state must not be null");
        }
        checkStateTensor(AdamWState.M, state.m());
        checkStateTensor(AdamWState.V, state.v());
        m.assign(state.m());
        v.assign(state.v());
        step = state.step();
    }

    /** {@link #restore(AdamWState)} from the tensors and metadata of a state file. */
    public void restore(Map<String, INDArray> tensors, Map<String, String> metadata) {
        restore(AdamWState.fromTensors(tensors, metadata, "AdamW state"));
    }

    private void checkStateTensor(String name, INDArray a) {
        if (a.dataType() != type) {
            throw new IllegalArgumentException("AdamW state tensor '" + name + "' has type " + a.dataType()
                    + " but this optimizer works in " + type);
        }
        if (a.rank() != 1 || a.length() != size) {
            throw new IllegalArgumentException("AdamW state tensor '" + name + "' has shape "
                    + Arrays.toString(a.shape()) + " but this optimizer expects [" + size + "]");
        }
    }

    /** IllegalArgumentException unless both are contiguous vectors of this optimizer's length and type. */
    void checkInputs(INDArray parameters, INDArray gradient) {
        checkVector(parameters, "parameter vector");
        checkVector(gradient, "gradient");
    }

    private INDArray checkVector(INDArray a, String what) {
        INDArray flat = flatView(a, what);
        if (flat.dataType() != type) {
            throw new IllegalArgumentException(
                    what + " has type " + flat.dataType() + " but this optimizer works in " + type);
        }
        if (flat.length() != size) {
            throw new IllegalArgumentException(what + " has " + flat.length() + " elements but this optimizer expects "
                    + size + " (shape found " + Arrays.toString(a.shape()) + ")");
        }
        return flat;
    }

    /** A rank-1 view of a contiguous FLOAT or DOUBLE vector (any vector shape, e.g. [n] or [1, n]). */
    static INDArray flatView(INDArray a, String what) {
        if (a == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        checkFloatingType(a.dataType(), what);
        if (a.length() == 0) {
            throw new IllegalArgumentException(
                    what + " must have at least one element, found shape " + Arrays.toString(a.shape()));
        }
        if (!a.isVector() && a.length() != 1) {
            throw new IllegalArgumentException(what + " must be a vector, found shape " + Arrays.toString(a.shape()));
        }
        if (a.length() > 1 && a.elementWiseStride() != 1) {
            throw new IllegalArgumentException(
                    what + " must be contiguous, found stride " + Arrays.toString(a.stride()));
        }
        return a.rank() == 1 ? a : a.reshape(a.length());
    }

    static void checkFloatingType(DataType type, String what) {
        if (type != DataType.FLOAT && type != DataType.DOUBLE) {
            throw new IllegalArgumentException(what + " must be FLOAT or DOUBLE, found " + type);
        }
    }
}
