package io.ssmspark.model.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.testing.FiniteDifferenceCheck;
import io.ssmspark.model.testing.ThreadedParts;
import io.ssmspark.model.testing.TinyModels;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A window cut into parts run in parallel gives the whole window's NLL and every parameter's gradient (fp64 to
 * 1e-10 relative): S = 1..4, uneven parts, parts of one token, parts shorter than d_conv − 1 and than the
 * attention window, for every kind of mixer.
 */
class PartTrainingTest {
    private static final int L = 13;

    static Stream<Arguments> cases() {
        int[][] cuts = {
            {0, L}, {0, 6, L}, {0, 4, 9, L}, {0, 3, 6, 9, L}, {0, 1, 2, 8, L}, {0, 5, 6, 7, L}, {0, 11, 12, L}
        };
        Object[][] models = {
            {"mamba2", TinyModels.pureMamba()},
            {"hybrid-full", TinyModels.hybrid(null)},
            {"hybrid-window3", TinyModels.hybrid(3)},
            {"mamba1-hybrid-window5", TinyModels.mamba1Hybrid(5)},
            {"mamba1", TinyModels.pureMamba1()},
            {"retnet-hybrid", TinyModels.retNet(true, 4, RetNetConfig.of(2))},
            {"s4d-lin", TinyModels.pureS4d(S4dConfig.Init.LIN, 4)},
        };
        Stream.Builder<Arguments> out = Stream.builder();
        for (Object[] m : models) {
            for (int[] c : cuts) {
                out.add(Arguments.of(m[0], m[1], c));
            }
        }
        return out.build();
    }

    @ParameterizedTest(name = "{0} parts {2}")
    @MethodSource("cases")
    void partsGiveTheWholeWindowsGradient(String name, MambaConfig config, int[] bounds) throws Exception {
        assertPartsEqualTheWholeWindow(name, config, bounds, DataType.DOUBLE, 1e-10);
    }

    /**
     * The parts' summed NLL and gradient against one backward over the whole window (a random 13-token window of a
     * perturbed model), within {@code tolerance} of the NLL and of the largest gradient entry.
     */
    private static void assertPartsEqualTheWholeWindow(
            String name, MambaConfig config, int[] bounds, DataType dtype, double tolerance) throws Exception {
        HybridLm lm = TinyModels.randomModel(config, 7, 0.05, dtype);
        int[] window = TinyModels.tokens(new Random(3), 1, L + 1, config.vocabSize())[0];
        int[][] inputs = {java.util.Arrays.copyOfRange(window, 0, L)};
        int[][] targets = {java.util.Arrays.copyOfRange(window, 1, L + 1)};
        HybridLm.Forward f = lm.forward(inputs);
        double nll = lm.nll(f, targets, null).sum();
        INDArray expected = lm.newGradient();
        lm.backward(f, targets, null, 1.0, expected);

        ThreadedParts.Outcome o = ThreadedParts.run(lm, window, new WindowParts(bounds), true);
        assertEquals(nll, o.nll(), tolerance * Math.abs(nll), name + ": NLL");
        double scale = expected.amaxNumber().doubleValue();
        double diff = Transforms.abs(o.gradient().sub(expected)).maxNumber().doubleValue();
        assertTrue(diff <= tolerance * scale, name + ": max |Δ gradient| " + diff + " of max |gradient| " + scale);
    }

    static Stream<Arguments> float32Cases() {
        Stream.Builder<Arguments> out = Stream.builder();
        for (Object[] m : new Object[][] {
            {"hybrid-window3", TinyModels.hybrid(3)},
            {"mamba1-hybrid-window5", TinyModels.mamba1Hybrid(5)},
            {"mamba2", TinyModels.pureMamba()}
        }) {
            for (int[] c : new int[][] {{0, 4, 9, L}, {0, 1, 2, 8, L}}) {
                out.add(Arguments.of(m[0], m[1], c));
            }
        }
        return out.build();
    }

    /** The same in float32, to 1e-5 of the largest gradient entry. */
    @ParameterizedTest(name = "float32 {0} parts {2}")
    @MethodSource("float32Cases")
    void float32PartsGiveTheWholeWindowsGradient(String name, MambaConfig config, int[] bounds) throws Exception {
        assertPartsEqualTheWholeWindow(name, config, bounds, DataType.FLOAT, 1e-5);
    }

    /**
     * fp64 central differences of the parts' summed NLL against their summed gradient: the embedding, each layer's
     * in_proj (Mamba2's conv halo rows, attention's key/value halo rows), Mamba2's conv and A_log (the state passed
     * between parts), on a Mamba2 / sliding-window attention / Mamba2 model cut into uneven parts.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("gradientCases")
    void partsGradientMatchesFiniteDifferences(String name, MambaConfig config) throws Exception {
        HybridLm lm = TinyModels.randomModel(config, 11, 0.05, DataType.DOUBLE);
        int[] window = TinyModels.tokens(new Random(5), 1, L + 1, config.vocabSize())[0];
        WindowParts parts = new WindowParts(new int[] {0, 2, 3, 8, L});
        ThreadedParts.Outcome o = ThreadedParts.run(lm, window, parts, true);
        java.util.Map<String, INDArray> params = lm.schema().unflatten(lm.parameters());
        java.util.Map<String, INDArray> grads = lm.schema().unflatten(o.gradient());
        Random rnd = new Random(1);
        for (String tensor : params.keySet()) {
            boolean checked = tensor.equals("backbone.embedding.weight")
                    || tensor.endsWith("mixer.in_proj.weight")
                    || tensor.equals("backbone.layers.0.mixer.conv1d.weight")
                    || tensor.equals("backbone.layers.0.mixer.A_log");
            if (!checked) {
                continue;
            }
            INDArray p = params.get(tensor);
            FiniteDifferenceCheck.check(
                    name + " " + tensor,
                    p,
                    grads.get(tensor),
                    FiniteDifferenceCheck.entries(p.length(), 3, rnd),
                    () -> {
                        try {
                            return ThreadedParts.run(lm, window, parts, false).nll();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    },
                    1e-5,
                    1e-5);
        }
    }

    static Stream<Arguments> gradientCases() {
        return Stream.of(
                Arguments.of("mamba2/attention-window3/mamba2", TinyModels.hybrid(3)),
                Arguments.of("mamba1/attention-full", TinyModels.mamba1Hybrid(null)));
    }
}
