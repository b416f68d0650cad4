package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Answer accuracy on hand-made logits whose argmax is known at every position. */
class AnswerAccuracyTest {
    /** Logits [rows, vocab] with a clear maximum at {@code argmax[r]} in row r. */
    private static INDArray logitsPeakingAt(int vocab, int... argmax) {
        INDArray logits = Nd4j.zeros(DataType.FLOAT, argmax.length, vocab);
        for (int r = 0; r < argmax.length; r++) {
            for (int v = 0; v < vocab; v++) {
                logits.putScalar(r, v, v == argmax[r] ? 2.0 : -0.1 * v);
            }
        }
        return logits;
    }

    @Test
    void countsOnlyTheAnswerPositions() {
        // 2 windows of 3 targets, rows b*3 + t. Predicted: [4 1 2 | 0 3 3].
        INDArray logits = logitsPeakingAt(5, 4, 1, 2, 0, 3, 3);
        int[][] targets = {{4, 0, 2}, {1, 3, 0}};
        // Answers: (0,0) right, (0,1) wrong, (1,1) right; the wrong non-answers (1,0) and (1,2) do not count.
        boolean[][] answers = {{true, true, false}, {false, true, false}};
        AnswerAccuracy.Count count = AnswerAccuracy.count(logits, targets, answers);
        assertEquals(3, count.answers());
        assertEquals(2, count.correct());
        assertEquals(0.6667, count.accuracy(), 5e-5);
    }

    @Test
    void noAnswersGiveNoAccuracy() {
        INDArray logits = logitsPeakingAt(3, 0, 1);
        AnswerAccuracy.Count count =
                AnswerAccuracy.count(logits, new int[][] {{0, 1}}, new boolean[][] {{false, false}});
        assertEquals(0, count.answers());
        assertTrue(Double.isNaN(count.accuracy()));
    }

    @Test
    void logitsOfAnotherShapeAreRefused() {
        INDArray logits = logitsPeakingAt(3, 0, 1, 2);
        assertThrows(
                IllegalArgumentException.class,
                () -> AnswerAccuracy.count(logits, new int[][] {{0, 1}}, new boolean[][] {{true, true}}));
    }
}
