package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ssmspark.model.config.MambaConfig;
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
        for (MambaConfig c : new MambaConfig[] {TestModels.pureMamba(), TestModels.hybrid(null), TestModels.hybrid(4)}) {
            HybridLm model = TestModels.randomModel(c, 12, 0.2, DataType.DOUBLE);
            int n = 23;
            int[] tokens = TestModels.tokens(new Random(3), 1, n, c.vocabSize())[0];
            int[][] inputs = {Arrays.copyOfRange(tokens, 0, n - 1)};
            int[][] targets = {Arrays.copyOfRange(tokens, 1, n)};
            double[] whole = model.nll(model.forward(inputs), targets, null).perToken().ravel().toDoubleVector();
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

    @Test
    void fullAttentionWindowsShrinkAsThePastGrows() {
        HybridLm full = TestModels.randomModel(TestModels.hybrid(null), 1, 0.1, DataType.DOUBLE); // 4 heads
        assertEquals(1024, SequenceScorer.windowAt(full, 0, 1024));             // 4·1024·1024 = 4 Mi
        assertEquals(128, SequenceScorer.windowAt(full, 100_000, 1024));        // 4·128·100128 ≈ 51 M ≤ 64 Mi
        assertEquals(1, SequenceScorer.windowAt(full, 10_000_000, 1024));
        HybridLm sliding = TestModels.randomModel(TestModels.hybrid(3), 1, 0.1, DataType.DOUBLE);
        assertEquals(1024, SequenceScorer.windowAt(sliding, 10_000_000, 1024));
        HybridLm pure = TestModels.randomModel(TestModels.pureMamba(), 1, 0.1, DataType.DOUBLE);
        assertEquals(1024, SequenceScorer.windowAt(pure, 10_000_000, 1024));
    }

    @Test
    void refusesSequencesTooShortToScore() {
        HybridLm model = TestModels.randomModel(TestModels.pureMamba(), 1, 0.1, DataType.DOUBLE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SequenceScorer.score(model, source(new int[] {3}), 4, (p, v) -> { }));
        assertEquals("sequence: expected at least 2 tokens to score but found 1", e.getMessage());
    }
}
