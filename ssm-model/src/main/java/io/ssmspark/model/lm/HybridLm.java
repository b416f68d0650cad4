package io.ssmspark.model.lm;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.layers.Embedding;
import io.ssmspark.model.layers.GatedMlp;
import io.ssmspark.model.layers.LayerNorm;
import io.ssmspark.model.layers.Linear;
import io.ssmspark.model.layers.RmsNorm;
import io.ssmspark.model.tensor.Scratch;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The hybrid language model of DESIGN.md ("The model"), mamba_ssm's MambaLMHeadModel: embedding, n_layer blocks
 * (norm → Mamba2 or attention mixer → optional norm2 → GatedMLP, with the residual stream added before each
 * norm), norm_f and the LM head over the padded vocabulary.
 *
 * <p>All parameters live in ONE flat vector (FLOAT or DOUBLE) laid out by {@link CheckpointSchema}; the layers
 * read views of it, and {@link #backward} adds into a flat gradient of the same layout. Token windows are
 * int[batch][T]. A forward may continue the sequences of an earlier one through an {@link LmState}.
 */
public final class HybridLm {

    /** Per-token NLL and totals of one forward. */
    public record Nll(INDArray perToken, double sum, double count) {
        /** perToken [batch, T] (natural log, unweighted); sum = Σ mask·nll; count = Σ mask (or batch·T). */
        public double mean() {
            return sum / count;
        }
    }

    private final MambaConfig config;
    private final CheckpointSchema schema;
    private final INDArray parameters;
    private final LayerTensors weights;
    private final Mamba2Mixer.Spec mixerSpec;
    private final Attention.Spec attentionSpec;
    private LayerTimings timings;

    /** Wraps {@code flatParameters} (not copied: the model reads it live) laid out as the config's schema. */
    public HybridLm(MambaConfig config, INDArray flatParameters) {
        this.config = config;
        this.schema = CheckpointSchema.of(config);
        DataType dt = flatParameters.dataType();
        if (dt != DataType.FLOAT && dt != DataType.DOUBLE) {
            throw new IllegalArgumentException("flat parameter vector: expected dtype FLOAT or DOUBLE but found " + dt);
        }
        this.parameters = flatParameters;
        this.weights = new LayerTensors(config, schema, flatParameters);
        boolean anyMamba = false;
        for (int i = 0; i < config.nLayer(); i++) {
            anyMamba |= !config.isAttentionLayer(i);
        }
        this.mixerSpec = anyMamba ? Mamba2Mixer.Spec.of(config) : null;
        this.attentionSpec = config.attnLayerIdx().isEmpty() ? null : attentionSpec(config);
    }

    /** The attention block's spec from attn_cfg. */
    static Attention.Spec attentionSpec(MambaConfig c) {
        AttnConfig a = c.attn();
        return new Attention.Spec(c.attnNumHeads(), c.attnNumHeadsKv(), c.attnHeadDim(), a.rotaryEmbDim(),
                a.rotaryEmbBase(), a.softmaxScale(), a.windowSize() == null ? 0 : a.windowSize());
    }

    public MambaConfig config() {
        return config;
    }

    public CheckpointSchema schema() {
        return schema;
    }

    /** The live flat parameter vector. */
    public INDArray parameters() {
        return parameters;
    }

    public DataType dataType() {
        return parameters.dataType();
    }

    /**
     * Attaches {@code t} (null detaches): later forwards and backwards add their time per kind of layer into it.
     * Detached, the hooks cost one null check per layer.
     */
    public void setTimings(LayerTimings t) {
        this.timings = t;
    }

    /** System.nanoTime() when timing is on, else 0. */
    private long now() {
        return timings == null ? 0 : System.nanoTime();
    }

    private long forwardSpan(LayerTimings.Part part, long start) {
        return timings == null ? 0 : timings.addForward(part, start);
    }

    private long backwardSpan(LayerTimings.Part part, long start) {
        return timings == null ? 0 : timings.addBackward(part, start);
    }

    LayerTensors weights() {
        return weights;
    }

    /** A zero flat gradient of the parameters' layout and dtype. */
    public INDArray newGradient() {
        return Nd4j.zeros(parameters.dataType(), schema.totalParameters());
    }

    // ---- forward ---------------------------------------------------------------------------------

    /** What one block's forward keeps for the backward. */
    private record BlockCache(INDArray residual, INDArray normed, Mamba2Mixer.Output mamba,
            Attention.Output attention, INDArray residual2, INDArray normed2, GatedMlp.Output mlp) {
    }

    /** The result of {@link #forward}: logits [batch·T, padded vocab] (row = b·T + t) and the state out. */
    public static final class Forward {
        private final INDArray logits;
        private final LmState stateOut;
        final int[][] tokens;
        final int[] ids;
        final BlockCache[] blocks;
        final INDArray finalResidual;
        final INDArray finalNormed;

        private Forward(INDArray logits, LmState stateOut, int[][] tokens, int[] ids,
                BlockCache[] blocks, INDArray finalResidual, INDArray finalNormed) {
            this.logits = logits;
            this.stateOut = stateOut;
            this.tokens = tokens;
            this.ids = ids;
            this.blocks = blocks;
            this.finalResidual = finalResidual;
            this.finalNormed = finalNormed;
        }

        /** [batch·T, padded vocab], row = b·T + t. */
        public INDArray logits() {
            return logits;
        }

        /** The state after the last token of this window: pass it to the next window's forward. */
        public LmState stateOut() {
            return stateOut;
        }

        public int batch() {
            return tokens.length;
        }

        public int length() {
            return tokens[0].length;
        }
    }

    /** Runs the model on token windows from the sequence start. */
    public Forward forward(int[][] tokens) {
        return forward(tokens, null);
    }

    /** Runs the model on token windows int[batch][T] continuing {@code state} (null: the sequence start). */
    public Forward forward(int[][] tokens, LmState state) {
        int[] ids = flatIds(tokens, "tokens");
        int b = tokens.length;
        int t = tokens[0].length;
        long rows = (long) b * t;
        int d = config.dModel();
        checkState(state, b);
        long position = state == null ? 0 : state.position();
        int n = config.nLayer();
        Mamba2Mixer.Carry[] carries = new Mamba2Mixer.Carry[n];
        INDArray[] pastKeys = new INDArray[n];
        INDArray[] pastValues = new INDArray[n];

        long clock = now();
        INDArray hidden = Embedding.forward(weights.embedding, ids);
        clock = forwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
        INDArray residual = null;
        BlockCache[] caches = new BlockCache[n];
        for (int i = 0; i < n; i++) {
            LayerTensors.Block w = weights.blocks[i];
            INDArray residual1 = residual == null ? hidden : hidden.add(residual);
            INDArray normed = norm(residual1, w.norm());
            INDArray normed3 = normed.reshape(b, t, d);
            clock = forwardSpan(LayerTimings.Part.NORMS, clock);
            Mamba2Mixer.Output mamba = null;
            Attention.Output attention = null;
            if (w.mamba() != null) {
                mamba = Mamba2Mixer.forward(normed3, w.mamba(), mixerSpec, state == null ? null : state.mixerCarry(i),
                        timings);
                hidden = mamba.out().reshape(rows, d);
                carries[i] = mamba.carryOut();
                clock = forwardSpan(LayerTimings.Part.MAMBA_MIXER, clock);
            } else {
                INDArray pk = state == null ? null : state.pastKey(i);
                INDArray pv = state == null ? null : state.pastValue(i);
                attention = Attention.forward(normed3, w.attention(), attentionSpec, position, pk, pv);
                hidden = Mamba2Mixer.contiguous(attention.out()).reshape(rows, d);
                INDArray[] kept = keptKeyValues(attentionSpec.windowSize(), pk, pv, attention.key(),
                        attention.value());
                pastKeys[i] = kept[0];
                pastValues[i] = kept[1];
                clock = forwardSpan(LayerTimings.Part.ATTENTION, clock);
            }
            residual = residual1;
            INDArray normed2 = null;
            GatedMlp.Output mlp = null;
            if (w.norm2() != null) {
                residual = hidden.add(residual1);
                normed2 = norm(residual, w.norm2());
                clock = forwardSpan(LayerTimings.Part.NORMS, clock);
                mlp = GatedMlp.forward(normed2, w.fc1(), w.fc2());
                hidden = mlp.out();
                clock = forwardSpan(LayerTimings.Part.MLP, clock);
            }
            caches[i] = new BlockCache(residual1, normed, mamba, attention, w.norm2() != null ? residual : null,
                    normed2, mlp);
        }
        INDArray finalResidual = hidden.add(residual);
        INDArray finalNormed = norm(finalResidual, weights.normF);
        clock = forwardSpan(LayerTimings.Part.NORMS, clock);
        INDArray logits = Linear.forward(finalNormed, weights.head, null);
        forwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
        LmState out = new LmState(position + t, carries, pastKeys, pastValues);
        return new Forward(logits, out, tokens, ids, caches, finalResidual, finalNormed);
    }

    /**
     * The natural-log NLL of {@code targets} int[batch][T] under the forward's logits (over the padded
     * vocabulary), with an optional loss mask [batch, T] (0 ignores a token; null counts every token).
     */
    public Nll nll(Forward f, int[][] targets, INDArray lossMask) {
        int[] ids = targetIds(f, targets);
        INDArray mask = flatMask(f, lossMask);
        long clock = now();
        CrossEntropy.Result r = CrossEntropy.forward(f.logits, ids, mask);
        forwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
        double count = mask == null ? ids.length : mask.sumNumber().doubleValue();
        return new Nll(r.rowLoss().reshape(f.batch(), f.length()), r.weightedSum(), count);
    }

    /**
     * Adds into {@code flatGradient} (the parameters' layout and dtype) the gradient of
     * scale · Σ_tokens mask·nll. The caller picks the scale, e.g. 1 / the global token count for a mean over a
     * data-parallel batch (see {@link #meanScale}).
     */
    public void backward(Forward f, int[][] targets, INDArray lossMask, double scale, INDArray flatGradient) {
        if (flatGradient == null || flatGradient.length() != schema.totalParameters()
                || flatGradient.dataType() != parameters.dataType()) {
            throw new IllegalArgumentException("flat gradient: expected " + schema.totalParameters() + " entries of "
                    + parameters.dataType() + " but found " + (flatGradient == null ? "null"
                            : flatGradient.length() + " of " + flatGradient.dataType()));
        }
        LayerTensors g = new LayerTensors(config, schema, flatGradient);
        long clock = now();
        INDArray dLogits = CrossEntropy.backward(f.logits, targetIds(f, targets), flatMask(f, lossMask), scale);
        INDArray dNormed = Linear.backward(f.finalNormed, weights.head, dLogits, g.head, null);
        clock = backwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
        // final = hidden + residual: both receive d final. dStream is the gradient of the residual stream; each
        // block adds its contributions into it in place, and its own temporaries live in the layer workspace.
        INDArray dStream = normBackward(f.finalResidual, weights.normF, dNormed, g.normF);
        clock = backwardSpan(LayerTimings.Part.NORMS, clock);
        for (int i = config.nLayer() - 1; i >= 0; i--) {
            try (Scratch ignored = Scratch.openLayer()) {
                clock = blockBackward(f, i, g, dStream, clock);
            }
        }
        Embedding.backward(f.ids, dStream, g.embedding);
        backwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
    }

    /** Block i's backward: adds its parameter gradients into g and its input's gradient into dStream [rows, d]. */
    private long blockBackward(Forward f, int i, LayerTensors g, INDArray dStream, long clock) {
        int b = f.batch();
        int t = f.length();
        long rows = (long) b * t;
        int d = config.dModel();
        LayerTensors.Block w = weights.blocks[i];
        LayerTensors.Block gw = g.blocks[i];
        BlockCache c = f.blocks[i];
        if (c.mlp() != null) {
            INDArray dNormed2 = GatedMlp.backward(c.normed2(), w.fc1(), w.fc2(), c.mlp(), dStream, gw.fc1(),
                    gw.fc2());
            clock = backwardSpan(LayerTimings.Part.MLP, clock);
            // residual2 = mixer out + residual1: the mixer's output gradient is the stream's after this add
            dStream.addi(normBackward(c.residual2(), w.norm2(), dNormed2, gw.norm2()));
            clock = backwardSpan(LayerTimings.Part.NORMS, clock);
        }
        INDArray dMixerOut = dStream.reshape(b, t, d);
        INDArray dNormedIn;
        if (c.mamba() != null) {
            dNormedIn = Mamba2Mixer.backward(c.normed().reshape(b, t, d), w.mamba(), mixerSpec, c.mamba(),
                    dMixerOut, null, gw.mamba(), timings).dx();
            clock = backwardSpan(LayerTimings.Part.MAMBA_MIXER, clock);
        } else {
            dNormedIn = Attention.backward(c.normed().reshape(b, t, d), w.attention(), attentionSpec,
                    c.attention(), dMixerOut, gw.attention()).dx();
            clock = backwardSpan(LayerTimings.Part.ATTENTION, clock);
        }
        // residual1 = previous hidden + previous residual (or the embedding for layer 0)
        dStream.addi(normBackward(c.residual(), w.norm(), dNormedIn.reshape(rows, d), gw.norm()));
        return backwardSpan(LayerTimings.Part.NORMS, clock);
    }

    // ---- layer by layer, for sequence-parallel scoring -------------------------------------------------------
    //
    // Between blocks only the sum "stream" = hidden + residual matters: block i reads norm(stream) and hands on
    // hidden' + residual'. Layer 0's stream is the embedding; the head reads norm_f(stream after the last block).
    // forward() is exactly embed, then per layer (mixer on normed(i, stream); stream = finishBlock), then head.

    /** The embedding rows of {@code tokens} (one sequence): the stream entering layer 0, [T, d]. */
    public INDArray embed(int[] tokens) {
        return Embedding.forward(weights.embedding, flatIds(new int[][] {tokens}, "tokens"));
    }

    /** Block {@code layer}'s first norm of the stream [T, d]: the mixer's input. */
    public INDArray normed(int layer, INDArray stream) {
        return norm(stream, weights.blocks[layer].norm());
    }

    /** The Mamba2 mixer's weights of {@code layer} (null for an attention layer). */
    public Mamba2Mixer.Weights mambaWeights(int layer) {
        return weights.blocks[layer].mamba();
    }

    /** The attention block's weights of {@code layer} (null for a Mamba2 layer). */
    public Attention.Weights attentionWeights(int layer) {
        return weights.blocks[layer].attention();
    }

    /** The Mamba2 mixer's sizes (null when the model has no Mamba2 layer). */
    public Mamba2Mixer.Spec mixerSpec() {
        return mixerSpec;
    }

    /** The attention blocks' spec (null when the model has no attention layer). */
    public Attention.Spec attentionSpec() {
        return attentionSpec;
    }

    /** The rest of block {@code layer} after its mixer (out [T, d]): the optional norm2 + MLP; the next stream. */
    public INDArray finishBlock(int layer, INDArray stream, INDArray mixerOut) {
        LayerTensors.Block w = weights.blocks[layer];
        INDArray hidden = Mamba2Mixer.contiguous(mixerOut).reshape(stream.shape());
        if (w.norm2() == null) {
            return hidden.add(stream);
        }
        INDArray residual = hidden.add(stream);
        return GatedMlp.forward(norm(residual, w.norm2()), w.fc1(), w.fc2()).out().add(residual);
    }

    /** norm_f of the stream after the last block: the last hidden state, [T, d]. */
    public INDArray finalNormed(INDArray stream) {
        return norm(stream, weights.normF);
    }

    /** The LM head on {@link #finalNormed} rows: logits [T, padded vocab]. */
    public INDArray head(INDArray finalNormed) {
        return Linear.forward(finalNormed, weights.head, null);
    }

    /** The scale that makes {@link #backward} give the gradient of the mean NLL over {@code globalTokens}. */
    public static double meanScale(double globalTokens) {
        if (!(globalTokens > 0)) {
            throw new IllegalArgumentException("global token count: expected > 0 but found " + globalTokens);
        }
        return 1.0 / globalTokens;
    }

    private int[] targetIds(Forward f, int[][] targets) {
        int[] ids = flatIds(targets, "targets");
        if (targets.length != f.batch() || targets[0].length != f.length()) {
            throw new IllegalArgumentException("targets: expected shape [" + f.batch() + "][" + f.length()
                    + "] (the forward's tokens) but found [" + targets.length + "][" + targets[0].length + "]");
        }
        return ids;
    }

    private INDArray flatMask(Forward f, INDArray lossMask) {
        if (lossMask == null) {
            return null;
        }
        if (!Arrays.equals(lossMask.shape(), new long[] {f.batch(), f.length()})) {
            throw new IllegalArgumentException("loss mask: expected shape [" + f.batch() + ", " + f.length()
                    + "] but found " + Arrays.toString(lossMask.shape()));
        }
        return lossMask.castTo(parameters.dataType()).dup('c').reshape((long) f.batch() * f.length());
    }

    /**
     * The past keys/values the next window needs after {@code key}/{@code value} [batch, T, Hkv, hd] followed
     * {@code pastKey}/{@code pastValue} (null: none): all of them, or the last window−1 with a sliding window.
     */
    static INDArray[] keptKeyValues(int window, INDArray pastKey, INDArray pastValue, INDArray key, INDArray value) {
        INDArray keys = pastKey == null ? key : Nd4j.concat(1, pastKey, key);
        INDArray values = pastValue == null ? value : Nd4j.concat(1, pastValue, value);
        if (window == 0) {
            return new INDArray[] {keys, values};
        }
        long keep = Math.min(window - 1L, keys.size(1));
        if (keep == 0) {
            return new INDArray[] {null, null};
        }
        long total = keys.size(1);
        if (keep == total) {
            return new INDArray[] {keys, values};
        }
        return new INDArray[] {keys.get(all(), interval(total - keep, total), all(), all()).dup('c'),
                values.get(all(), interval(total - keep, total), all(), all()).dup('c')};
    }

    INDArray norm(INDArray x, LayerTensors.Norm w) {
        return config.rmsNorm() ? RmsNorm.forward(x, w.weight(), config.normEpsilon())
                : LayerNorm.forward(x, w.weight(), w.bias(), config.normEpsilon());
    }

    private INDArray normBackward(INDArray x, LayerTensors.Norm w, INDArray dy, LayerTensors.Norm g) {
        return config.rmsNorm() ? RmsNorm.backward(x, w.weight(), config.normEpsilon(), dy, g.weight())
                : LayerNorm.backward(x, w.weight(), w.bias(), config.normEpsilon(), dy, g.weight(), g.bias());
    }

    private void checkState(LmState state, int batch) {
        if (state == null) {
            return;
        }
        if (state.layers() != config.nLayer()) {
            throw new IllegalArgumentException("LM state: expected " + config.nLayer() + " layers but found "
                    + state.layers());
        }
        for (int i = 0; i < config.nLayer(); i++) {
            Mamba2Mixer.Carry carry = state.mixerCarry(i);
            INDArray any = carry == null ? state.pastKey(i)
                    : carry.ssmState() != null ? carry.ssmState() : carry.convRows();
            if (any != null && any.size(0) != batch) {
                throw new IllegalArgumentException("LM state: layer " + i + " holds " + any.size(0)
                        + " sequences but the tokens have " + batch);
            }
        }
    }

    /** The token windows as row-major ids (row = b·T + t), checked rectangular and inside the padded vocab. */
    int[] flatIds(int[][] tokens, String what) {
        if (tokens == null || tokens.length == 0 || tokens[0] == null || tokens[0].length == 0) {
            throw new IllegalArgumentException(what + ": expected a non-empty int[batch][T] but found "
                    + (tokens == null ? "null" : tokens.length == 0 ? "no rows" : "an empty row 0"));
        }
        int t = tokens[0].length;
        int vocab = config.paddedVocabSize();
        int[] ids = new int[tokens.length * t];
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b] == null || tokens[b].length != t) {
                throw new IllegalArgumentException(what + ": row " + b + " has length "
                        + (tokens[b] == null ? "null" : tokens[b].length) + " but row 0 has " + t);
            }
            for (int i = 0; i < t; i++) {
                int id = tokens[b][i];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException(what + "[" + b + "][" + i + "] = " + id
                            + " is outside the (padded) vocabulary [0, " + vocab + ")");
                }
                ids[b * t + i] = id;
            }
        }
        return ids;
    }
}
