package io.ssmspark.jobs.train;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Answer accuracy of a batch: at the targets flagged as answers, how often the model's most likely
 * token (the argmax of its logits) is the target.
 */
final class AnswerAccuracy {
    private AnswerAccuracy() {}

    /** Answer positions seen and how many of them the argmax got right. */
    record Count(long answers, long correct) {
        /** correct / answers; NaN when there were no answers. */
        double accuracy() {
            return answers == 0 ? Double.NaN : (double) correct / answers;
        }
    }

    /**
     * Counts over logits [batch·T, vocab] (row b·T + t), targets int[batch][T] and answers
     * boolean[batch][T] (whether target t of window b is an answer).
     */
    static Count count(INDArray logits, int[][] targets, boolean[][] answers) {
        int batch = targets.length;
        int length = targets[0].length;
        if (logits.rows() != (long) batch * length || answers.length != batch) {
            throw new IllegalArgumentException("logits " + java.util.Arrays.toString(logits.shape()) + " for " + batch
                    + " x " + length + " targets and " + answers.length + " answer rows");
        }
        long[] predicted;
        try (INDArray argmax = logits.argMax(1)) {
            predicted = argmax.toLongVector();
        }
        long seen = 0;
        long correct = 0;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < length; t++) {
                if (answers[b][t]) {
                    seen++;
                    if (predicted[b * length + t] == targets[b][t]) {
                        correct++;
                    }
                }
            }
        }
        return new Count(seen, correct);
    }
}
