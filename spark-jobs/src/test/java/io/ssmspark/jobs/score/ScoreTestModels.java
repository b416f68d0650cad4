package io.ssmspark.jobs.score;

import io.ssmspark.data.Segment;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.testing.TinyModels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Tiny models and hand-cut segments for the scoring tests. */
final class ScoreTestModels {
    private ScoreTestModels() {}

    /**
     * d_model 8, 3 layers, d_conv 4, chunk 4, ngroups 2, GatedMLP, vocab 13 padded to 16; attention at layer 1 when
     * {@code attention}, with the given window (null: full).
     */
    static MambaConfig config(boolean attention, Integer window) {
        return attention ? TinyModels.hybrid(window) : TinyModels.mamba2Stack();
    }

    /**
     * {@link #config} with S4D layers instead of Mamba2: d_state 4 (2 conjugate pairs or 4 real modes), blocks of 4
     * (shorter than most segments), Δ in [0.01, 0.2].
     */
    static MambaConfig s4dConfig(S4dConfig.Init init, boolean attention, Integer window) {
        return config(attention, window).toBuilder()
                .ssm(SsmConfig.builder()
                        .layer(S4dConfig.LAYER)
                        .dState(4)
                        .chunkSize(4)
                        .dtMin(0.01)
                        .dtMax(0.2)
                        .s4d(new S4dConfig(init))
                        .build())
                .build();
    }

    /** Random parameters (init + noise so that every path matters), exactly representable in fp32. */
    static INDArray parameters(MambaConfig c, long seed) {
        INDArray flat = ModelInit.initialize(c, seed, DataType.DOUBLE);
        Random rnd = new Random(seed + 1);
        double[] noise = new double[(int) flat.length()];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = 0.2 * rnd.nextGaussian();
        }
        return flat.addi(Nd4j.createFromArray(noise)).castTo(DataType.FLOAT).castTo(DataType.DOUBLE);
    }

    static int[] tokens(long seed, int n, int vocab) {
        Random rnd = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }

    /** NLL of positions 1..n−1 from one forward over the whole sequence. */
    static double[] wholeSequenceNll(HybridLm lm, int[] tokens) {
        int[][] in = {Arrays.copyOfRange(tokens, 0, tokens.length - 1)};
        int[][] target = {Arrays.copyOfRange(tokens, 1, tokens.length)};
        return lm.nll(lm.forward(in), target, null)
                .perToken()
                .castTo(DataType.DOUBLE)
                .toDoubleVector();
    }

    /** The sequence cut at the given offsets (each strictly inside it, increasing). */
    static List<Segment> cut(String id, int[] tokens, int... cuts) {
        List<Segment> out = new ArrayList<>();
        int count = cuts.length + 1;
        int start = 0;
        for (int i = 0; i < count; i++) {
            int end = i < cuts.length ? cuts[i] : tokens.length;
            out.add(new Segment(id, i, count, start, tokens.length, Arrays.copyOfRange(tokens, start, end)));
            start = end;
        }
        return out;
    }
}
