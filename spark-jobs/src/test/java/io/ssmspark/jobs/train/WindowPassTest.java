package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.data.Window;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** A task's micro-batches computed several at once give the bits of one at a time. */
class WindowPassTest {
    private static final int LENGTH = 12;

    private static List<Window> windows(int count, boolean withAnswers) {
        Random random = new Random(3);
        List<Window> windows = new ArrayList<>();
        for (int w = 0; w < count; w++) {
            int[] tokens = new int[LENGTH + 1];
            boolean[] answers = new boolean[LENGTH + 1];
            for (int t = 0; t <= LENGTH; t++) {
                tokens[t] = random.nextInt(129);
                answers[t] = t % 3 == 2;
            }
            windows.add(new Window(w, w, tokens, withAnswers ? answers : null));
        }
        return windows;
    }

    @Test
    void concurrentMicroBatchesGiveTheBitsOfOneAtATime() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            HybridLm lm = ModelInit.newModel(TrainTestSupport.tinyModel(), 11, type);
            List<Window> windows = windows(7, false);
            for (int microBatch : new int[] {1, 2}) {
                PartitionResult one = WindowPass.compute(() -> lm, 0, windows, true, microBatch, 1);
                for (int concurrent : new int[] {2, 3}) {
                    PartitionResult many = WindowPass.compute(() -> lm, 0, windows, true, microBatch, concurrent);
                    String what = type + ", micro-batch " + microBatch + ", " + concurrent + " at once";
                    assertEquals(one.loss.value(), many.loss.value(), 0.0, what);
                    assertEquals(7, many.windows, what);
                    assertEquals(7L * LENGTH, many.tokens, what);
                    assertArrayEquals(one.gradient.hi, many.gradient.hi, what);
                    assertArrayEquals(one.gradient.lo, many.gradient.lo, what);
                }
            }
        }
    }

    @Test
    void concurrentEvaluationCountsTheSameAnswers() {
        HybridLm lm = ModelInit.newModel(TrainTestSupport.tinyModel(), 11, DataType.FLOAT);
        List<Window> windows = windows(5, true);
        PartitionResult one = WindowPass.compute(() -> lm, 0, windows, false, 1, 1);
        PartitionResult many = WindowPass.compute(() -> lm, 0, windows, false, 1, 2);
        assertEquals(5L * 4, one.answers);
        assertEquals(one.answers, many.answers);
        assertEquals(one.answersCorrect, many.answersCorrect);
        assertEquals(one.loss.value(), many.loss.value(), 0.0);
    }
}
