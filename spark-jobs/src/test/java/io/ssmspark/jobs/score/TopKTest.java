package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class TopKTest {
    /** Columns at and past the model's vocab_size are padding: never predicted, even with the largest logit. */
    @Test
    void ranksOnlyTheIdsBelowTheVocabulary() {
        float[][] logits = {{0.1f, 3f, 2f, 9f}, {5f, 1f, 5f, 8f}};
        assertArrayEquals(new int[] {1, 2, 0, 2}, TopK.rows(Nd4j.createFromArray(logits), 2, 3));
        assertArrayEquals(new int[] {3, 1, 3, 0}, TopK.rows(Nd4j.createFromArray(logits), 2, 4));
    }
}
