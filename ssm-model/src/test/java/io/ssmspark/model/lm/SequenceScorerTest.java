package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.tensor.NativeResident;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

class SequenceScorerTest {

    static SequenceScorer.TokenSource source(int[] tokens) {
        return new SequenceScorer.TokenSource() {
            @Override
            public long length() {
                return tokens.length;
            }

            @Override
            public int[] read(long start, int count) {
                return Arrays.copyOfRange(tokens, (int) start, (int) start + count);
            }
        };
    }

    @Test
    void everyWindowSizeGivesTheWholeSequenceNll() throws IOException {
        for (MambaConfig c :
                new MambaConfig[] {TinyModels.pureMamba(), TinyModels.hybrid(null), TinyModels.hybrid(4)}) {
            HybridLm model = TinyModels.randomModel(c, 12, 0.2, DataType.DOUBLE);
            int n = 23;
            int[] tokens = TinyModels.tokens(new Random(3), 1, n, c.vocabSize())[0];
            int[][] inputs = {Arrays.copyOfRange(tokens, 0, n - 1)};
            int[][] targets = {Arrays.copyOfRange(tokens, 1, n)};
            double[] whole = model.nll(model.forward(inputs), targets, null)
                    .perToken()
                    .ravel()
                    .toDoubleVector();
            for (int window : new int[] {1, 3, 5, 22, 100}) {
                List<Long> positions = new ArrayList<>();
                List<Double> values = new ArrayList<>();
                SequenceScorer.Summary s = SequenceScorer.score(model, source(tokens), window, (p, v) -> {
                    positions.add(p);
                    values.add(v);
                });
                assertEquals(n - 1, s.positions());
                assertEquals(n - 1, values.size());
                double sum = 0;
                for (int i = 0; i < n - 1; i++) {
                    assertEquals(i + 1, positions.get(i));
                    assertEquals(whole[i], values.get(i), 1e-12, "window " + window + " position " + (i + 1));
                    sum += whole[i];
                }
                assertEquals(sum / (n - 1), s.meanNll(), 1e-12);
                assertEquals(Math.exp(sum / (n - 1)), s.perplexity(), 1e-9);
            }
        }
    }

    /** The sink hears of each window once its positions are in, and windowCount says how many there will be. */
    @Test
    void eachWindowIsReportedAndCountedAhead() throws IOException {
        HybridLm model = TinyModels.randomModel(TinyModels.hybrid(null), 2, 0.1, DataType.DOUBLE);
        int[] tokens = TinyModels.tokens(new Random(4), 1, 23, model.config().vocabSize())[0];
        for (int window : new int[] {1, 5, 22, 100}) {
            List<Long> accepted = new ArrayList<>();
            List<Long> reported = new ArrayList<>();
            SequenceScorer.score(model, source(tokens), window, new SequenceScorer.Sink() {
                @Override
                public void accept(long position, double nll) {
                    accepted.add(position);
                }

                @Override
                public void windowScored(long positions) {
                    assertEquals(accepted.size(), positions, "every position of the window is in");
                    reported.add(positions);
                }
            });
            long expectedWindows = (22 + window - 1) / window;
            assertEquals(expectedWindows, reported.size(), "window " + window);
            assertEquals(expectedWindows, SequenceScorer.windowCount(model, 23, window), "window " + window);
            assertEquals(22L, reported.get(reported.size() - 1));
        }
        // full attention halves its windows far into a sequence (4 heads · T · (position + T) ≤ 64 Mi), and the
        // count follows: 200,000 positions take more than 196 windows of 1024
        assertTrue(SequenceScorer.windowCount(model, 200_001, 1024) > 196);
        assertEquals(
                196,
                SequenceScorer.windowCount(
                        TinyModels.randomModel(TinyModels.hybrid(4), 2, 0.1, DataType.DOUBLE), 200_001, 1024));
    }

    @Test
    void fullAttentionWindowsShrinkAsThePastGrows() {
        HybridLm full = TinyModels.randomModel(TinyModels.hybrid(null), 1, 0.1, DataType.DOUBLE); // 4 heads
        assertEquals(1024, SequenceScorer.windowAt(full, 0, 1024)); // 4·1024·1024 = 4 Mi
        assertEquals(128, SequenceScorer.windowAt(full, 100_000, 1024)); // 4·128·100128 ≈ 51 M ≤ 64 Mi
        assertEquals(1, SequenceScorer.windowAt(full, 10_000_000, 1024));
        HybridLm sliding = TinyModels.randomModel(TinyModels.hybrid(3), 1, 0.1, DataType.DOUBLE);
        assertEquals(1024, SequenceScorer.windowAt(sliding, 10_000_000, 1024));
        HybridLm pure = TinyModels.randomModel(TinyModels.pureMamba(), 1, 0.1, DataType.DOUBLE);
        assertEquals(1024, SequenceScorer.windowAt(pure, 10_000_000, 1024));
    }

    /**
     * Eight windows of 8K tokens through a bench-size Mamba-2 layer (d_model 256, d_state 64, headdim 32): each
     * allocates a few hundred MB of native memory, which must be freed as the window ends (the resident set after
     * windows 3-8 stays where window 2 left it; held until GC, it would grow by that much per window).
     */
    @Test
    void nativeMemoryStaysFlatAcrossWindows() throws IOException {
        MambaConfig c = MambaConfig.builder()
                .dModel(256)
                .nLayer(1)
                .vocabSize(256)
                .padVocabSizeMultiple(8)
                .dIntermediate(0)
                .ssm(SsmConfig.builder().dState(64).headdim(32).chunkSize(64).build())
                .build();
        HybridLm model = ModelInit.newModel(c, 3, DataType.FLOAT);
        int window = 8192;
        int[] tokens = new Random(5).ints(8 * window + 1, 0, 256).toArray();
        List<Long> rss = new ArrayList<>();
        SequenceScorer.score(model, source(tokens), window, (p, v) -> {
            if (p % window == 0) { // the window's last position: it has been scored
                rss.add(NativeResident.bytes());
            }
        });
        assertEquals(8, rss.size());
        long peak = rss.subList(2, 8).stream().mapToLong(Long::longValue).max().orElseThrow();
        long growth = peak - rss.get(1);
        System.out.printf(
                "scoring windows: resident set %d MiB after window 2, peak %d MiB over windows 3-8%n",
                rss.get(1) >> 20, peak >> 20);
        assertTrue(growth < 256L << 20, "native resident set grew by " + (growth >> 20) + " MiB over windows 3-8");
    }

    @Test
    void refusesSequencesTooShortToScore() {
        HybridLm model = TinyModels.randomModel(TinyModels.pureMamba(), 1, 0.1, DataType.DOUBLE);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> SequenceScorer.score(model, source(new int[] {3}), 4, (p, v) -> {}));
        assertEquals("sequence: expected at least 2 tokens to score but found 1", e.getMessage());
    }
}
