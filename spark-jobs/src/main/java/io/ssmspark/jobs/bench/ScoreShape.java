package io.ssmspark.jobs.bench;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mixer;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What the scoring cost model ({@link ScoreProjection}) needs of a model: its size, its layers by kind, and per layer
 * what a segment shares in the exchange (read off the model's own mixers, so the sizes are the code's).
 */
public record ScoreShape(
        long parameters,
        int dModel,
        int mambaLayers,
        int attentionLayers,
        int mlpLayers,
        int paddedVocab,
        List<Layer> layers) {

    /**
     * One layer's exchange: a segment's tail of min(haloRows, T) rows in {@code haloBlocks} blocks of
     * {@code haloBytesPerRow} value bytes per row in all, then (a mixer that carries a state) a summary of
     * {@code summaryBytes} value bytes in {@code summaryBlocks} blocks, of which the state it moves (Mamba-2: E, the
     * shape of the state; α only scales it) is {@code stateBytes}.
     */
    public record Layer(
            boolean carriesState,
            int haloRows,
            int haloBlocks,
            long haloBytesPerRow,
            int summaryBlocks,
            long summaryBytes,
            long stateBytes) {
        /** Whether a segment's tail is every row it has (full attention): the carry then grows with the sequence. */
        public boolean haloIsWholeSegment() {
            return haloRows == Integer.MAX_VALUE;
        }

        public int rounds() {
            return carriesState ? 2 : 1;
        }
    }

    public int layerCount() {
        return layers.size();
    }

    /** The shape of {@code model}: halo and summary sizes from running its mixers on a few random rows. */
    public static ScoreShape of(HybridLm model) {
        MambaConfig c = model.config();
        List<Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayer(); l++) {
            Mixer mixer = model.mixer(l);
            try (INDArray x = Nd4j.rand(DataType.FLOAT, 1, 4, c.dModel())) {
                INDArray[] halo = mixer.halo(x.get(all(), interval(3, 4), all()).dup('c'), 3);
                INDArray[] summary =
                        mixer.carriesState() ? mixer.fromZeroState(x, 0, null).summary() : null;
                layers.add(new Layer(
                        mixer.carriesState(),
                        mixer.haloRows(),
                        blocks(halo),
                        valueBytes(halo),
                        blocks(summary),
                        valueBytes(summary),
                        summary == null ? 0 : valueBytes(new INDArray[] {summary[summary.length - 1]})));
            }
        }
        int attention = c.attnLayerIdx().size();
        return new ScoreShape(
                CheckpointSchema.of(c).totalParameters(),
                c.dModel(),
                c.nLayer() - attention,
                attention,
                c.hasMlp() ? c.nLayer() : 0,
                c.paddedVocabSize(),
                List.copyOf(layers));
    }

    private static int blocks(INDArray[] a) {
        int n = 0;
        for (INDArray b : a == null ? new INDArray[0] : a) {
            n += b == null ? 0 : 1;
        }
        return n;
    }

    private static long valueBytes(INDArray[] a) {
        long bytes = 0;
        for (INDArray b : a == null ? new INDArray[0] : a) {
            bytes += b == null ? 0 : b.length() * b.dataType().width();
        }
        return bytes;
    }
}
