package io.ssmspark.jobs.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.ThreadBudget;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/** The baseline's pieces without Spark: DataSet layout, rounds, parameter count, NLL, thread budget. */
class BaselinePartsTest {

    @Test
    void windowsBecomeOneHotInputsAndNextTokenLabelsInNcwLayout() {
        List<Window> windows =
                List.of(new Window(0, 0, new int[] {1, 2, 3, 0}), new Window(1, 1, new int[] {3, 3, 1, 2}));
        DataSet ds = WindowDataSets.of(windows, 4);
        assertEquals(
                List.of(2L, 4L, 3L),
                List.of(
                        ds.getFeatures().size(0),
                        ds.getFeatures().size(1),
                        ds.getFeatures().size(2)));
        assertEquals(
                List.of(2L, 4L, 3L),
                List.of(
                        ds.getLabels().size(0),
                        ds.getLabels().size(1),
                        ds.getLabels().size(2)));
        for (int b = 0; b < 2; b++) {
            int[] tokens = windows.get(b).tokens;
            for (int t = 0; t < 3; t++) {
                for (int v = 0; v < 4; v++) {
                    assertEquals(
                            tokens[t] == v ? 1.0 : 0.0,
                            ds.getFeatures().getDouble(b, v, t),
                            "input b" + b + " v" + v + " t" + t);
                    assertEquals(
                            tokens[t + 1] == v ? 1.0 : 0.0,
                            ds.getLabels().getDouble(b, v, t),
                            "label b" + b + " v" + v + " t" + t);
                }
            }
        }
    }

    @Test
    void aTokenOutsideTheVocabularyIsNamedWithItsWindowAndPosition() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> WindowDataSets.of(List.of(new Window(7, 0, new int[] {1, 2, 4})), 4));
        assertEquals("window 7, position 2: token 4 is outside the vocabulary [0, 4)", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> WindowDataSets.of(
                        List.of(new Window(0, 0, new int[] {1, 2, 3}), new Window(5, 1, new int[] {1, 2})), 4));
        assertEquals("window 5 holds 2 tokens, expected 3 like window 0", e.getMessage());
    }

    @Test
    void roundsTakeConsecutiveRankRangesAndCycle() {
        TrainingRounds r = new TrainingRounds(10, 2, 2, 1); // 4 windows a round, 2 distinct rounds, 2 unused
        assertEquals(4, r.size());
        assertEquals(2, r.distinctRounds());
        assertEquals(
                List.of(0L, 4L, 4L, 8L, 0L, 4L),
                List.of(r.firstRank(0), r.endRank(0), r.firstRank(1), r.endRank(1), r.firstRank(2), r.endRank(2)));
        TrainingRounds small = new TrainingRounds(3, 2, 2, 3); // fewer windows than a round: all of them, every round
        assertEquals(3, small.size());
        assertEquals(List.of(0L, 3L), List.of(small.firstRank(5), small.endRank(5)));
        assertThrows(IllegalArgumentException.class, () -> new TrainingRounds(0, 2, 2, 1));
    }

    @Test
    void parameterCountMatchesTheBuiltNetwork() {
        // 4·5·(7+5+1) + 4·5·(5+5+1) + 5·7+7 = 260 + 220 + 42
        assertEquals(522, LstmLanguageModel.parameterCount(7, 5, 2));
        assertEquals(522, LstmLanguageModel.build(7, 5, 2, 1e-3, 3).numParams());
        // 526,336 + 525,312 + 66,049: the ~1.1M parameters of reference/stack.md (byte vocabulary).
        assertEquals(1_117_697, LstmLanguageModel.parameterCount(257, 256, 2));
    }

    @Test
    void nllSumIsMinusTheLogProbabilityOfEveryTarget() {
        MultiLayerNetwork net = LstmLanguageModel.build(6, 4, 2, 1e-3, 11);
        List<Window> windows =
                List.of(new Window(0, 0, new int[] {0, 5, 2, 2, 1}), new Window(1, 1, new int[] {4, 3, 0, 1, 5}));
        DataSet ds = WindowDataSets.of(windows, 6);
        double[] sum = ValidationNll.sum(net, ds);
        INDArray p = net.output(ds.getFeatures(), false);
        double expected = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 4; t++) {
                expected -= Math.log(p.getDouble(b, windows.get(b).tokens[t + 1], t));
            }
        }
        assertEquals(8, sum[1]);
        assertEquals(expected, sum[0], 1e-5 * Math.abs(expected));
        // DL4J's own training score for RNNs: summed over time steps, averaged over the minibatch.
        net.setInput(ds.getFeatures());
        net.setLabels(ds.getLabels());
        net.computeGradientAndScore();
        assertEquals(expected / 2, net.score(), 1e-4 * expected);
    }

    @Test
    void localModeSplitsTheCoresBetweenConcurrentTasks() {
        assertEquals(1, ThreadBudget.threadsPerTask("local[2]", 2));
        assertEquals(2, ThreadBudget.threadsPerTask("local", 2));
        assertEquals(1, ThreadBudget.threadsPerTask("local[*]", 2));
        assertEquals(4, ThreadBudget.threadsPerTask("local[2]", 8));
        assertEquals(1, ThreadBudget.threadsPerTask("local[4, 3]", 2));
        assertEquals(0, ThreadBudget.threadsPerTask("yarn", 8));
        assertEquals(0, ThreadBudget.threadsPerTask("spark://host:7077", 8));
    }

    @Test
    void badSettingsNameTheOption() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new BaselineSettings(
                        "synthetic:associative-recall",
                        null,
                        32,
                        0,
                        16,
                        2,
                        1e-3,
                        1,
                        2,
                        10,
                        0,
                        1,
                        0.05,
                        64,
                        BaselineSettings.Approach.DIRECT,
                        "file:/tmp"));
        assertEquals("--batch: expected at least 1 but found 0", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new BaselineSettings(
                        "synthetic:associative-recall",
                        null,
                        32,
                        2,
                        16,
                        2,
                        1e-3,
                        1,
                        2,
                        10,
                        0,
                        1,
                        1.0,
                        64,
                        BaselineSettings.Approach.DIRECT,
                        "file:/tmp"));
        assertEquals("--validation-fraction: expected a number in (0, 1) but found 1.0", e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new BaselineSettings(
                        "synthetic:associative-recall",
                        null,
                        32,
                        2,
                        16,
                        2,
                        1e-3,
                        1,
                        2,
                        0,
                        0,
                        1,
                        0.05,
                        64,
                        BaselineSettings.Approach.DIRECT,
                        "file:/tmp"));
        assertEquals("--seconds: expected a positive number but found 0.0", e.getMessage());
        assertTrue(Double.isNaN(Dl4jLstmBaseline.unigramLoss("/data/books")));
        assertEquals(4.7831, Dl4jLstmBaseline.unigramLoss("synthetic:associative-recall"), 1e-4);
    }
}
