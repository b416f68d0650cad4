package io.ssmspark.model.parallel;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.tensor.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One part of a sequence-parallel training window (DESIGN.md, "Sequence-parallel backward"): the S parts of a window
 * run at once, one per task, and exchange per layer only what crosses a part boundary.
 *
 * <p>Forward, layer by layer (the model's one walk, {@link HybridLm#forward(int[][], long, HybridLm.MixerRun)}):
 * each part shares its tail ({@link Mixer#halo}: conv rows, keys/values) and builds its halo from the earlier
 * parts' ({@link HaloLayout}); a mixer with a state runs from a zero state ({@link Mixer#trainingSegment}) and
 * shares its summary (α, E), and each part takes the exclusive scan S_in(k) = passState over parts 0..k−1; the
 * part's training window is then the zero-state run finished with S_in ({@link Mixer#finishWindow}), or, for a
 * mixer without that shortcut, {@link Mixer#forward} from carry(halo, S_in).
 *
 * <p>Backward, layer by layer in reverse: g_k, the gradient reaching S_in(k) through the part's own outputs
 * ({@link Mixer#initialStateGradient}), is shared; the gradient of the part's final state is G(k+1) by the reverse
 * scan G(j) = g_j + αⱼᵀ·G(j+1), G(S) = 0; one backward with dCarryOut = carry(null, G(k+1)) gives dx, the parameter
 * gradients and the halo's gradient. (A mixer without that shortcut runs its backward twice, for its outputs'
 * gradient and then, with a zero output gradient, for G(k+1): exact, the backward being linear in both.) The halo
 * gradients go back to the parts that own those rows, and each owner adds {@link Mixer#haloBackward} of their sum
 * (in part order) into the dx of its tail. The parameter gradients of all parts add up to the whole window's.
 */
public final class PartTraining {
    private final HybridLm lm;
    private final WindowParts parts;
    private final int part;
    private final PartExchange exchange;
    private final LayerRecord[] layers;
    private long bytesUp;
    private long bytesDown;
    private long exchangeNanos;

    /** What a layer's forward exchange left for its backward. */
    private static final class LayerRecord {
        HaloLayout halo;
        INDArray[][] summaries; // every part's (α, E), in part order
        int stateLength;
    }

    public PartTraining(HybridLm lm, WindowParts parts, int part, PartExchange exchange) {
        this.lm = lm;
        this.parts = parts;
        this.part = part;
        this.exchange = exchange;
        this.layers = new LayerRecord[lm.config().nLayer()];
    }

    /** Bytes this part sent and received through the exchange so far. */
    public long bytesUp() {
        return bytesUp;
    }

    public long bytesDown() {
        return bytesDown;
    }

    /** Nanoseconds spent in the exchange so far (waiting for the other parts included). */
    public long exchangeNanos() {
        return exchangeNanos;
    }

    /**
     * Runs this part: {@code tokens} are its inputs and, last, the target of its last input (length(part) + 1 tokens
     * of the window, from start(part)). Returns the NLL sum of its targets; with a {@code gradient} (the parameters'
     * layout) adds into it the gradient of scale · that sum.
     */
    public double run(int[] tokens, double scale, INDArray gradient) {
        int length = parts.length(part);
        if (tokens.length != length + 1) {
            throw new IllegalArgumentException("sequence-parallel part " + part + " of " + parts + ": expected "
                    + (length + 1) + " tokens (its inputs and the next target) but found " + tokens.length);
        }
        int[][] inputs = {Arrays.copyOfRange(tokens, 0, length)};
        int[][] targets = {Arrays.copyOfRange(tokens, 1, length + 1)};
        HybridLm.Forward f = lm.forward(inputs, parts.start(part), this::forwardMixer);
        double nll = lm.nll(f, targets, null).sum();
        if (gradient != null) {
            lm.backward(f, targets, null, scale, gradient, this::backwardMixer);
        }
        return nll;
    }

    private Mixer.Window forwardMixer(int layer, Mixer mixer, INDArray x) {
        LayerRecord r = new LayerRecord();
        layers[layer] = r;
        int start = parts.start(part);
        INDArray[] halo = null;
        if (mixer.haloRows() > 0) {
            r.halo = new HaloLayout(parts, mixer.haloRows());
            int tail = r.halo.tailRows(part);
            boolean read = part < parts.count() - 1; // the last part's tail is no one's halo
            byte[][] tails = gather(
                    read
                            ? BlockCodec.encode(mixer.halo(lastRows(x, tail), start + parts.length(part) - tail))
                            : new byte[0]);
            halo = assembleHalo(r.halo, tails);
        }
        INDArray state = null;
        Mixer.Segment zeroState = null;
        if (mixer.carriesState()) {
            zeroState = mixer.trainingSegment(x, start, halo);
            byte[][] all = gather(BlockCodec.encode(zeroState.summary()));
            r.summaries = new INDArray[all.length][];
            for (int j = 0; j < all.length; j++) {
                r.summaries[j] = BlockCodec.decode(all[j]);
            }
            r.stateLength = (int) r.summaries[part][1].length();
            for (int j = 0; j < part; j++) {
                state = mixer.passState(state, r.summaries[j]);
            }
        }
        Mixer.Window finished = zeroState == null ? null : mixer.finishWindow(zeroState, state);
        if (finished != null) {
            return finished;
        }
        Mixer.Carry carryIn = halo == null && state == null ? null : mixer.carry(halo, state);
        return mixer.forward(x, start, carryIn, null);
    }

    /** Part {@code part}'s halo: the earlier parts' tails end to end, cut to its halo rows (null: none). */
    private INDArray[] assembleHalo(HaloLayout layout, byte[][] tails) {
        int rows = layout.haloRowsOf(part);
        if (rows == 0) {
            return null;
        }
        INDArray[] halo = null;
        for (int j = 0; j < part; j++) {
            int used = layout.used(part, j);
            if (used == 0) {
                continue;
            }
            INDArray[] t = BlockCodec.decode(tails[j]);
            if (halo == null) {
                halo = new INDArray[t.length];
                for (int b = 0; b < t.length; b++) {
                    halo[b] = Nd4j.create(t[b].dataType(), rows, t[b].size(1));
                }
            }
            int offset = layout.offset(part, j);
            int tailRows = (int) t[0].size(0);
            for (int b = 0; b < t.length; b++) {
                halo[b].get(interval(offset, offset + used), all())
                        .assign(t[b].get(interval(tailRows - used, tailRows), all()));
            }
        }
        return halo;
    }

    private INDArray backwardMixer(
            int layer, Mixer mixer, INDArray x, Mixer.Window forward, INDArray dOut, Mixer gradients) {
        LayerRecord r = layers[layer];
        int haloRows = r.halo == null ? 0 : r.halo.haloRowsOf(part);
        INDArray dx;
        INDArray[] dHalo;
        INDArray own = mixer.carriesState() ? mixer.initialStateGradient(x, forward, dOut) : null;
        if (own != null) { // g_k first, then one backward with the final state's gradient G(k+1)
            INDArray later = laterStateGradient(mixer, r, own);
            Mixer.Gradients g =
                    mixer.backward(x, forward, dOut, later == null ? null : mixer.carry(null, later), gradients, null);
            dx = g.dx();
            dHalo = haloRows == 0 ? null : mixer.haloOf(g.dCarryIn(), haloRows);
        } else { // the backward twice: for the outputs' gradient, then (by linearity) for the final state's
            Mixer.Gradients g = mixer.backward(x, forward, dOut, null, gradients, null);
            dx = g.dx();
            dHalo = haloRows == 0 ? null : mixer.haloOf(g.dCarryIn(), haloRows);
            if (mixer.carriesState()) {
                INDArray gk = mixer.stateOf(g.dCarryIn());
                INDArray later =
                        laterStateGradient(mixer, r, gk != null ? gk : Nd4j.zeros(x.dataType(), 1, r.stateLength));
                if (later != null) {
                    Mixer.Gradients through = mixer.backward(
                            x, forward, dOut.like().assign(0), mixer.carry(null, later), gradients, null);
                    dx = dx.add(through.dx());
                    INDArray[] more = haloRows == 0 ? null : mixer.haloOf(through.dCarryIn(), haloRows);
                    if (more != null) {
                        for (int b = 0; b < dHalo.length; b++) {
                            dHalo[b].addi(more[b]);
                        }
                    }
                }
            }
        }
        if (r.halo != null) {
            byte[][] all = gather(BlockCodec.encode(dHalo));
            INDArray[] dTail = ownTailGradient(r.halo, all);
            if (dTail != null) {
                int tail = r.halo.tailRows(part);
                int t = parts.length(part);
                INDArray dxTail = mixer.haloBackward(lastRows(x, tail), parts.start(part) + t - tail, dTail, gradients);
                dx = Shapes.contiguous(dx);
                dx.get(all(), interval(t - tail, t), all()).addi(dxTail);
            }
        }
        return dx;
    }

    /**
     * Shares this part's g_k and returns G(k+1), the gradient of its final state, by the reverse scan
     * G(j) = g_j + αⱼᵀ·G(j+1) over the later parts (null for the last part).
     */
    private INDArray laterStateGradient(Mixer mixer, LayerRecord r, INDArray own) {
        byte[][] all = gather(BlockCodec.encode(new INDArray[] {own}));
        INDArray later = null;
        for (int j = parts.count() - 1; j > part; j--) {
            INDArray gj = BlockCodec.decode(all[j])[0];
            later = later == null ? gj : gj.addi(mixer.passStateGradient(later, r.summaries[j]));
        }
        return later;
    }

    /** The sum, in part order, of the later parts' gradients of this part's tail rows (null: none read them). */
    private INDArray[] ownTailGradient(HaloLayout layout, byte[][] all) {
        int tail = layout.tailRows(part);
        INDArray[] sum = null;
        for (int k = part + 1; k < parts.count(); k++) {
            int used = layout.used(k, part);
            if (used == 0) {
                continue;
            }
            INDArray[] d = BlockCodec.decode(all[k]);
            if (sum == null) {
                sum = new INDArray[d.length];
                for (int b = 0; b < d.length; b++) {
                    sum[b] = Nd4j.zeros(d[b].dataType(), tail, d[b].size(1));
                }
            }
            int offset = layout.offset(k, part);
            for (int b = 0; b < d.length; b++) {
                sum[b].get(interval(tail - used, tail), all()).addi(d[b].get(interval(offset, offset + used), all()));
            }
        }
        return sum;
    }

    /** x's last {@code rows} positions, [1, rows, d] (a copy). */
    private static INDArray lastRows(INDArray x, int rows) {
        long t = x.size(1);
        return x.get(point(0), interval(t - rows, t), all()).dup('c').reshape(1, rows, x.size(2));
    }

    private byte[][] gather(byte[] message) {
        long start = System.nanoTime();
        byte[][] all = exchange.allGather(message);
        exchangeNanos += System.nanoTime() - start;
        if (all.length != parts.count()) {
            throw new IllegalStateException(
                    "sequence-parallel exchange: expected " + parts.count() + " parts' messages but got " + all.length);
        }
        bytesUp += message.length;
        for (byte[] m : all) {
            bytesDown += m.length;
        }
        return all;
    }
}
