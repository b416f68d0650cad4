package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TokenSamplerTest {
    // ids 0..4 real, 5..7 padding with the largest logits (must never be picked)
    private static final INDArray LOGITS = Nd4j.createFromArray(new double[] {1.0, 3.0, 2.0, 3.0, 0.5, 9, 9, 9});

    @Test
    void greedyPicksTheLowestIdOfTheMaximumInsideTheRealVocabulary() {
        assertEquals(1, new TokenSampler(0, 0, 1).next(LOGITS, 5));
        assertEquals(1, new TokenSampler(0, 0, 1).next(LOGITS.reshape(1, 8), 5));
        assertEquals(5, new TokenSampler(0, 0, 1).next(LOGITS, 6));
    }

    @Test
    void samplingFollowsTheTemperedSoftmaxOverTheTopK() {
        double temperature = 2.0;
        int draws = 40000;
        int[] counts = new int[5];
        TokenSampler all = new TokenSampler(temperature, 0, 7);
        for (int i = 0; i < draws; i++) {
            counts[all.next(LOGITS, 5)]++;
        }
        double[] logits = {1.0, 3.0, 2.0, 3.0, 0.5};
        double total = 0;
        for (double l : logits) {
            total += Math.exp(l / temperature);
        }
        for (int id = 0; id < 5; id++) {
            double p = Math.exp(logits[id] / temperature) / total;
            assertEquals(p, counts[id] / (double) draws, 0.01, "token " + id);
        }
        // top-3 keeps ids 1, 3 (logit 3) and 2 (logit 2): 0 and 4 never appear, 2 has e^{-1/2}/(2 + e^{-1/2})
        int[] top = new int[5];
        TokenSampler topThree = new TokenSampler(temperature, 3, 8);
        for (int i = 0; i < draws; i++) {
            top[topThree.next(LOGITS, 5)]++;
        }
        assertEquals(0, top[0] + top[4]);
        double p2 = Math.exp(-0.5) / (2 + Math.exp(-0.5));
        assertEquals(p2, top[2] / (double) draws, 0.01);
    }

    @Test
    void theSameSeedDrawsTheSameTokens() {
        int[] first = new int[50];
        int[] second = new int[50];
        int[] other = new int[50];
        TokenSampler a = new TokenSampler(1.5, 0, 99);
        TokenSampler b = new TokenSampler(1.5, 0, 99);
        TokenSampler c = new TokenSampler(1.5, 0, 100);
        for (int i = 0; i < 50; i++) {
            first[i] = a.next(LOGITS, 5);
            second[i] = b.next(LOGITS, 5);
            other[i] = c.next(LOGITS, 5);
        }
        assertArrayEquals(first, second);
        assertTrue(!java.util.Arrays.equals(first, other), "another seed gives another sequence");
    }

    @Test
    void badSettingsAreRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new TokenSampler(-0.5, 0, 1))
                .getMessage()
                .contains("temperature: expected a finite value >= 0 but found -0.5"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new TokenSampler(1, -2, 1))
                .getMessage()
                .contains("top-k: expected 0 (all tokens) or a positive count but found -2"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new TokenSampler(1, 0, 1).next(LOGITS, 9))
                .getMessage()
                .contains("at least 9 entries but found [8]"));
    }
}
