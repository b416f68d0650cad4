package io.ssmspark.model.lm;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.layers.Attention;
import io.ssmspark.model.layers.CrossEntropy;
import io.ssmspark.model.layers.Embedding;
import io.ssmspark.model.layers.GatedMlp;
import io.ssmspark.model.layers.LayerNorm;
import io.ssmspark.model.layers.Linear;
import io.ssmspark.model.layers.RmsNorm;
import io.ssmspark.model.mixer.AttentionMixer;
import io.ssmspark.model.mixer.LayerTimings;
import io.ssmspark.model.mixer.Mamba2Mixer;
import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.tensor.Scratch;
import io.ssmspark.model.tensor.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The hybrid language model of DESIGN.md ("The model"), mamba_ssm's MambaLMHeadModel: embedding, n_layer blocks
 * (norm → mixer, built by {@link Mixers} → optional norm2 → GatedMLP, with the residual stream added before each
 * norm), norm_f and the LM head over the padded vocabulary. {@link #blocks} is the one walk over the blocks that
 * every path uses, each running the mixers its own way through {@link Mixer}.
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

    /** A zero flat gradient of the parameters' layout and dtype. */
    public INDArray newGradient() {
        return Nd4j.zeros(parameters.dataType(), schema.totalParameters());
    }

    // ---- forward ---------------------------------------------------------------------------------

    /** What one block's forward keeps for the backward. */
    record BlockActivations(
            INDArray residual,
            INDArray normed,
            Mixer.Window mixer,
            INDArray residual2,
            INDArray normed2,
            GatedMlp.Output mlp) {}

    /** The result of {@link #forward}: logits [batch·T, padded vocab] (row = b·T + t) and the state out. */
    public static final class Forward {
        private final INDArray logits;
        private final LmState stateOut;
        final int[][] tokens;
        final int[] ids;
        final BlockActivations[] blocks;
        final INDArray finalResidual;
        final INDArray finalNormed;

        private Forward(
                INDArray logits,
                LmState stateOut,
                int[][] tokens,
                int[] ids,
                BlockActivations[] blocks,
                INDArray finalResidual,
                INDArray finalNormed) {
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
        checkState(state, tokens.length);
        long position = state == null ? 0 : state.position();
        return forward(
                tokens,
                position,
                (i, mixer, x) -> mixer.forward(x, position, state == null ? null : state.carry(i), timings));
    }

    /**
     * Runs the model on token windows whose first token is at {@code position}, each mixer as {@code run} runs it
     * (which must keep what the backward needs: {@link Mixer#forward}); e.g. a part of a sequence-parallel window.
     */
    public Forward forward(int[][] tokens, long position, MixerRun run) {
        int[] ids = flatIds(tokens, "tokens");
        int b = tokens.length;
        int t = tokens[0].length;
        int n = config.nLayer();
        Mixer.Carry[] carries = new Mixer.Carry[n];
        BlockActivations[] caches = new BlockActivations[n];

        long clock = now();
        INDArray embedded = Embedding.forward(weights.embedding, ids);
        forwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
        INDArray finalResidual = walk(embedded, new long[] {b, t, config.dModel()}, run, carries, caches, false);
        clock = now();
        INDArray finalNormed = norm(finalResidual, weights.normF);
        clock = forwardSpan(LayerTimings.Part.NORMS, clock);
        INDArray logits = Linear.forward(finalNormed, weights.head, null);
        forwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
        return new Forward(logits, new LmState(position + t, carries), tokens, ids, caches, finalResidual, finalNormed);
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
        backward(
                f,
                targets,
                lossMask,
                scale,
                flatGradient,
                (i, mixer, x, window, dOut, gradients) -> mixer.backward(x, window, dOut, null, gradients, timings)
                        .dx());
    }

    /** How a path runs block {@code layer}'s mixer backward: dx [batch, T, d] of its output gradient dOut. */
    @FunctionalInterface
    public interface MixerBackward {
        INDArray run(int layer, Mixer mixer, INDArray x, Mixer.Window forward, INDArray dOut, Mixer gradients);
    }

    /**
     * {@link #backward(Forward, int[][], INDArray, double, INDArray)} with each mixer's backward run by {@code
     * mixers} (e.g. a part of a sequence-parallel window, whose carries' gradients cross to the other parts).
     */
    public void backward(
            Forward f, int[][] targets, INDArray lossMask, double scale, INDArray flatGradient, MixerBackward mixers) {
        if (flatGradient == null
                || flatGradient.length() != schema.totalParameters()
                || flatGradient.dataType() != parameters.dataType()) {
            throw new IllegalArgumentException("flat gradient: expected " + schema.totalParameters() + " entries of "
                    + parameters.dataType() + " but found "
                    + (flatGradient == null ? "null" : flatGradient.length() + " of " + flatGradient.dataType()));
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
                clock = blockBackward(f, i, g, dStream, clock, mixers);
            }
        }
        Embedding.backward(f.ids, dStream, g.embedding);
        backwardSpan(LayerTimings.Part.EMBEDDING_HEAD, clock);
    }

    /** Block i's backward: adds its parameter gradients into g and its input's gradient into dStream [rows, d]. */
    private long blockBackward(Forward f, int i, LayerTensors g, INDArray dStream, long clock, MixerBackward mixers) {
        int b = f.batch();
        int t = f.length();
        long rows = (long) b * t;
        int d = config.dModel();
        LayerTensors.Block w = weights.blocks[i];
        LayerTensors.Block gw = g.blocks[i];
        BlockActivations c = f.blocks[i];
        if (c.mlp() != null) {
            INDArray dNormed2 = GatedMlp.backward(c.normed2(), w.fc1(), w.fc2(), c.mlp(), dStream, gw.fc1(), gw.fc2());
            clock = backwardSpan(LayerTimings.Part.MLP, clock);
            // residual2 = mixer out + residual1: the mixer's output gradient is the stream's after this add
            dStream.addi(normBackward(c.residual2(), w.norm2(), dNormed2, gw.norm2()));
            clock = backwardSpan(LayerTimings.Part.NORMS, clock);
        }
        INDArray dNormedIn =
                mixers.run(i, w.mixer(), c.normed().reshape(b, t, d), c.mixer(), dStream.reshape(b, t, d), gw.mixer());
        clock = backwardSpan(w.mixer().timingPart(), clock);
        // residual1 = previous hidden + previous residual (or the embedding for layer 0)
        dStream.addi(normBackward(c.residual(), w.norm(), dNormedIn.reshape(rows, d), gw.norm()));
        return backwardSpan(LayerTimings.Part.NORMS, clock);
    }

    // ---- the one walk over the blocks -------------------------------------------------------------------------
    //
    // Between blocks only the sum "stream" = hidden + residual matters: block i reads norm(stream) and hands on
    // hidden' + residual'. Layer 0's stream is the embedding; the head reads norm_f(stream after the last block).
    // Every path walks the same blocks and differs only in how it runs each mixer (a MixerRun): a training window,
    // a scoring window, one decoding token, or a scoring segment's protocol.

    /** How a path runs block {@code layer}'s mixer on its normed input x ([batch, T, d]; one token: [batch, d]). */
    @FunctionalInterface
    public interface MixerRun {
        Mixer.Window run(int layer, Mixer mixer, INDArray x);
    }

    /**
     * Every block in order over {@code stream} [rows, d], the mixers seeing it as {@code mixerShape}; returns the
     * stream after the last block. Each block's carry-out goes into {@code carries} (when not null).
     */
    public INDArray blocks(INDArray stream, long[] mixerShape, MixerRun run, Mixer.Carry[] carries) {
        return walk(stream, mixerShape, run, carries, null, false);
    }

    /**
     * {@link #blocks}, each block in its own {@link Scratch} step scope when {@code layerScopes}: then only the
     * stream and the carries (copied out of the scope) outlive a block, the walk owns {@code stream} and closes it,
     * and the stream returned is the caller's to close.
     */
    INDArray walk(
            INDArray stream,
            long[] mixerShape,
            MixerRun run,
            Mixer.Carry[] carries,
            BlockActivations[] caches,
            boolean layerScopes) {
        for (int i = 0; i < config.nLayer(); i++) {
            if (!layerScopes) {
                stream = block(i, stream, mixerShape, run, carries, caches);
                continue;
            }
            INDArray next;
            try (Scratch layer = Scratch.openStep()) {
                next = Scratch.keep(block(i, stream, mixerShape, run, carries, null));
                if (carries != null && carries[i] != null) {
                    carries[i] = carries[i].map(Scratch::keep);
                }
            }
            stream.close(); // our own copy, read by no one else
            stream = next;
        }
        return stream;
    }

    /**
     * Block {@code layer} on the stream [rows, d]: norm, the mixer as {@code run} runs it (on the normed rows seen as
     * {@code mixerShape}), then the residual add and the optional norm2 + MLP. Returns the next stream; the mixer's
     * carry-out goes into {@code carries[layer]} (when not null).
     */
    public INDArray block(int layer, INDArray stream, long[] mixerShape, MixerRun run, Mixer.Carry[] carries) {
        return block(layer, stream, mixerShape, run, carries, null);
    }

    private INDArray block(
            int layer,
            INDArray stream,
            long[] mixerShape,
            MixerRun run,
            Mixer.Carry[] carries,
            BlockActivations[] caches) {
        LayerTensors.Block w = weights.blocks[layer];
        long clock = now();
        INDArray normed = norm(stream, w.norm());
        clock = forwardSpan(LayerTimings.Part.NORMS, clock);
        Mixer.Window mixed = run.run(layer, w.mixer(), normed.reshape(mixerShape));
        forwardSpan(w.mixer().timingPart(), clock);
        if (carries != null) {
            carries[layer] = mixed.carryOut();
        }
        return finish(
                layer,
                stream,
                mixed.out(),
                caches == null
                        ? null
                        : (r2, n2, mlp) -> caches[layer] = new BlockActivations(stream, normed, mixed, r2, n2, mlp));
    }

    /** Receives what a block's norm2 + MLP keep for the backward (nulls without an MLP). */
    private interface MlpKeeper {
        void keep(INDArray residual2, INDArray normed2, GatedMlp.Output mlp);
    }

    /** The rest of block {@code layer} after its mixer: stream + out, then the optional norm2 + MLP. */
    private INDArray finish(int layer, INDArray stream, INDArray mixerOut, MlpKeeper keeper) {
        LayerTensors.Block w = weights.blocks[layer];
        INDArray residual = Shapes.contiguous(mixerOut).reshape(stream.shape()).add(stream);
        if (w.norm2() == null) {
            if (keeper != null) {
                keeper.keep(null, null, null);
            }
            return residual;
        }
        long clock = now();
        INDArray normed2 = norm(residual, w.norm2());
        clock = forwardSpan(LayerTimings.Part.NORMS, clock);
        GatedMlp.Output mlp = GatedMlp.forward(normed2, w.fc1(), w.fc2());
        forwardSpan(LayerTimings.Part.MLP, clock);
        if (keeper != null) {
            keeper.keep(residual, normed2, mlp);
        }
        return mlp.out().add(residual);
    }

    /** The embedding rows of {@code tokens} (one sequence): the stream entering layer 0, [T, d]. */
    public INDArray embed(int[] tokens) {
        return Embedding.forward(weights.embedding, flatIds(new int[][] {tokens}, "tokens"));
    }

    /** The embedding rows of ids already checked by {@link #flatIds}. */
    INDArray embedIds(int[] ids) {
        return Embedding.forward(weights.embedding, ids);
    }

    /** Block {@code layer}'s first norm of the stream [T, d]: the mixer's input. */
    public INDArray normed(int layer, INDArray stream) {
        return norm(stream, weights.blocks[layer].norm());
    }

    /** Layer {@code layer}'s mixer, bound to the model's weights. */
    public Mixer mixer(int layer) {
        return weights.blocks[layer].mixer();
    }

    /** The Mamba2 mixer's weights of {@code layer} (null for another kind of layer). */
    public Mamba2Mixer.Weights mambaWeights(int layer) {
        return mixer(layer) instanceof Mamba2Mixer m ? m.weights() : null;
    }

    /** The attention block's weights of {@code layer} (null for another kind of layer). */
    public Attention.Weights attentionWeights(int layer) {
        return mixer(layer) instanceof AttentionMixer a ? a.weights() : null;
    }

    /** The Mamba2 mixer's sizes (null when the model has no Mamba2 layer). */
    public Mamba2Mixer.Spec mixerSpec() {
        for (LayerTensors.Block b : weights.blocks) {
            if (b.mixer() instanceof Mamba2Mixer m) {
                return m.spec();
            }
        }
        return null;
    }

    /** The attention blocks' spec (null when the model has no attention layer). */
    public Attention.Spec attentionSpec() {
        for (LayerTensors.Block b : weights.blocks) {
            if (b.mixer() instanceof AttentionMixer a) {
                return a.spec();
            }
        }
        return null;
    }

    /** The rest of block {@code layer} after its mixer (out [T, d]): the optional norm2 + MLP; the next stream. */
    public INDArray finishBlock(int layer, INDArray stream, INDArray mixerOut) {
        return finish(layer, stream, mixerOut, null);
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

    INDArray norm(INDArray x, LayerTensors.Norm w) {
        return config.rmsNorm()
                ? RmsNorm.forward(x, w.weight(), config.normEpsilon())
                : LayerNorm.forward(x, w.weight(), w.bias(), config.normEpsilon());
    }

    private INDArray normBackward(INDArray x, LayerTensors.Norm w, INDArray dy, LayerTensors.Norm g) {
        return config.rmsNorm()
                ? RmsNorm.backward(x, w.weight(), config.normEpsilon(), dy, g.weight())
                : LayerNorm.backward(x, w.weight(), w.bias(), config.normEpsilon(), dy, g.weight(), g.bias());
    }

    private void checkState(LmState state, int batch) {
        if (state == null) {
            return;
        }
        if (state.layers() != config.nLayer()) {
            throw new IllegalArgumentException(
                    "LM state: expected " + config.nLayer() + " layers but found " + state.layers());
        }
        for (int i = 0; i < config.nLayer(); i++) {
            Mixer.Carry carry = state.carry(i);
            if (carry != null && carry.batch() >= 0 && carry.batch() != batch) {
                throw new IllegalArgumentException(
                        "LM state: layer " + i + " holds " + carry.batch() + " sequences but the tokens have " + batch);
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
        int[] ids = new int[tokens.length * t];
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b] == null || tokens[b].length != t) {
                throw new IllegalArgumentException(what + ": row " + b + " has length "
                        + (tokens[b] == null ? "null" : tokens[b].length) + " but row 0 has " + t);
            }
            for (int i = 0; i < t; i++) {
                int id = tokens[b][i];
                if (!isTokenId(id)) {
                    throw outsideVocabulary(what + "[" + b + "][" + i + "]", id);
                }
                ids[b * t + i] = id;
            }
        }
        return ids;
    }

    /**
     * The one check of token ids, for every path (training, nll, decoding, score, the ML transformer): an id
     * indexes the padded vocabulary, the embedding's rows, as in mamba_ssm.
     */
    public void requireTokenIds(int[] tokens, String what) {
        for (int i = 0; i < tokens.length; i++) {
            if (!isTokenId(tokens[i])) {
                throw outsideVocabulary(what + "[" + i + "]", tokens[i]);
            }
        }
    }

    private boolean isTokenId(int id) {
        return id >= 0 && id < config.paddedVocabSize();
    }

    private IllegalArgumentException outsideVocabulary(String where, int id) {
        return new IllegalArgumentException(
                where + " = " + id + " is outside the (padded) vocabulary [0, " + config.paddedVocabSize() + ")");
    }
}
