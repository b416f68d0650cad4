package io.ssmspark.model.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.tensor.Scratch;
import io.ssmspark.model.testing.TinyModels;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Training steps inside {@link Scratch#openStep()} scopes (the backward adds its {@link Scratch#openLayer()} scopes)
 * give bitwise the gradients and losses of steps outside them, step after step while the reused blocks are
 * overwritten, and when a larger batch makes them grow.
 */
class StepScopesTest {

    private record Step(double loss, double[] gradient) {}

    private static Step step(HybridLm model, int[][] tokens, int[][] targets, boolean inWorkspace) {
        INDArray gradient = model.newGradient();
        double loss;
        if (inWorkspace) {
            try (Scratch ignored = Scratch.openStep()) {
                HybridLm.Forward f = model.forward(tokens);
                loss = model.nll(f, targets, null).sum();
                model.backward(f, targets, null, 1.0, gradient);
            }
        } else {
            HybridLm.Forward f = model.forward(tokens);
            loss = model.nll(f, targets, null).sum();
            model.backward(f, targets, null, 1.0, gradient);
        }
        assertFalse(gradient.isAttached(), "the caller's gradient stays outside the workspace");
        return new Step(loss, gradient.toDoubleVector());
    }

    @Test
    void stepsInTheWorkspaceEqualStepsOutsideIt() {
        MambaConfig c = TinyModels.hybrid(null);
        HybridLm model = TinyModels.randomModel(c, 5, 0.1, DataType.FLOAT);
        Random rnd = new Random(3);
        int[][][] batches = {
            TinyModels.tokens(rnd, 2, 9, c.vocabSize()),
            TinyModels.tokens(rnd, 2, 9, c.vocabSize()),
            TinyModels.tokens(rnd, 3, 21, c.vocabSize()), // larger: the block grows
            TinyModels.tokens(rnd, 2, 9, c.vocabSize()),
        };
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < batches.length; i++) {
                int[][] tokens = batches[i];
                int[][] targets = TinyModels.tokens(new Random(i), tokens.length, tokens[0].length, c.vocabSize());
                // inside first, so per-thread caches are first made while a workspace is open
                Step inside = step(model, tokens, targets, true);
                Step outside = step(model, tokens, targets, false);
                assertEquals(outside.loss(), inside.loss(), 0.0, "loss, batch " + i);
                assertArrayEquals(outside.gradient(), inside.gradient(), 0.0, "gradient, batch " + i);
                assertTrue(Math.abs(outside.loss()) > 0);
            }
        }
    }
}
