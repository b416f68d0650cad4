package io.ssmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.SafeTensors;
import io.ssmspark.model.checkpoint.SafeTensorsDType;
import io.ssmspark.model.checkpoint.SafeTensorsFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class AdamWStateTest {
    private static final int STEPS = 7;
    private static final int SAVE_AFTER = 3;

    @TempDir
    Path dir;

    private static CheckpointSchema schema() {
        return CheckpointSchema.of(WeightDecayMaskTest.hybrid(true));
    }

    private static INDArray randomVector(long seed, long n, double scale, DataType type) {
        Random rnd = new Random(seed);
        double[] a = new double[(int) n];
        for (int i = 0; i < n; i++) {
            a[i] = scale * rnd.nextGaussian();
        }
        return Nd4j.createFromArray(a).castTo(type);
    }

    /** Steps k in [from, to) of a fixed run: warmup + cosine schedule, clipping at norm 1. */
    private static void run(Optimizer optimizer, INDArray params, int from, int to) {
        long n = params.length();
        for (int k = from; k < to; k++) {
            StepReport r = optimizer.step(params, randomVector(1000 + k, n, 0.02, params.dataType()));
            assertEquals(true, r.applied());
            assertEquals(k + 1, r.step());
        }
    }

    private static Optimizer optimizer(DataType type) {
        return new Optimizer(
                new AdamW(schema(), type, AdamWSettings.defaults()), new LearningRateSchedule(1e-2, 1e-3, 2, 6), 1.0);
    }

    @Test
    void saveRestoreContinueIsBitwiseIdentical() throws IOException {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            long n = schema().totalParameters();
            INDArray straight = randomVector(1, n, 0.1, type);
            run(optimizer(type), straight, 0, STEPS);

            Optimizer first = optimizer(type);
            INDArray resumed = randomVector(1, n, 0.1, type);
            run(first, resumed, 0, SAVE_AFTER);
            Path file = dir.resolve("optimizer-" + type + ".safetensors");
            first.adamw().state().write(file);
            run(first, resumed.dup(), SAVE_AFTER, SAVE_AFTER + 1); // the saved state is a snapshot

            AdamWState loaded = AdamWState.read(file);
            assertEquals(SAVE_AFTER, loaded.step());
            assertEquals(type, loaded.m().dataType());
            Optimizer second = optimizer(type);
            second.adamw().restore(loaded);
            run(second, resumed, SAVE_AFTER, STEPS);

            assertBitwiseEqual(straight, resumed, type + " parameters");
            AdamWState uninterrupted = optimizerStateAfter(type, STEPS);
            assertBitwiseEqual(uninterrupted.m(), second.adamw().state().m(), type + " m");
            assertBitwiseEqual(uninterrupted.v(), second.adamw().state().v(), type + " v");
            assertEquals(STEPS, second.adamw().step());
            assertEquals(SAVE_AFTER + 1, first.adamw().step());
        }
    }

    /** Same type and the same bits (FLOAT to double is exact; delta 0 compares exactly). */
    static void assertBitwiseEqual(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.dataType(), actual.dataType(), what);
        assertArrayEquals(
                expected.castTo(DataType.DOUBLE).toDoubleVector(),
                actual.castTo(DataType.DOUBLE).toDoubleVector(),
                0.0,
                what);
    }

    private static AdamWState optimizerStateAfter(DataType type, int steps) {
        Optimizer o = optimizer(type);
        run(o, randomVector(1, schema().totalParameters(), 0.1, type), 0, steps);
        return o.adamw().state();
    }

    @Test
    void fileHoldsStepAsMetadataAndTensorsInTheirOwnType() throws IOException {
        AdamWState state = optimizerStateAfter(DataType.DOUBLE, 2);
        Path file = dir.resolve("s.safetensors");
        state.write(file);
        try (var reader = SafeTensors.open(file)) {
            assertEquals("2", reader.metadata().get(AdamWState.STEP));
            assertEquals(SafeTensorsDType.F64, reader.entry(AdamWState.M).dtype());
            assertEquals(SafeTensorsDType.F64, reader.entry(AdamWState.V).dtype());
        }
        assertEquals(
                SafeTensorsDType.F32, optimizerStateAfter(DataType.FLOAT, 1).fileType());
        AdamWState back = AdamWState.read(file);
        assertBitwiseEqual(state.m(), back.m(), "m");
        assertBitwiseEqual(state.v(), back.v(), "v");
        assertNotEquals(0.0, back.v().sumNumber().doubleValue());
    }

    @Test
    void restoreRefusesWrongNamesShapesTypesAndStep() {
        long n = schema().totalParameters();
        AdamW adamw = new AdamW(schema(), DataType.FLOAT, AdamWSettings.defaults());
        INDArray m = Nd4j.zeros(DataType.FLOAT, n);
        Map<String, String> meta = Map.of(AdamWState.STEP, "5");

        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> adamw.restore(Map.of(AdamWState.M, m), meta));
        assertEquals("AdamW state: AdamW state tensor 'adamw.v' is missing (found [adamw.m])", e.getMessage());

        Map<String, INDArray> extra = new LinkedHashMap<>(Map.of(AdamWState.M, m, AdamWState.V, m));
        extra.put("adamw.u", m);
        e = assertThrows(IllegalArgumentException.class, () -> adamw.restore(extra, meta));
        assertEquals(
                "AdamW state: unexpected tensor 'adamw.u' in AdamW state (expected only 'adamw.m' and 'adamw.v')",
                e.getMessage());

        INDArray shorter = Nd4j.zeros(DataType.FLOAT, n - 1);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> adamw.restore(Map.of(AdamWState.M, shorter, AdamWState.V, shorter), meta));
        assertEquals(
                "AdamW state tensor 'adamw.m' has shape [71159] but this optimizer expects [71160]", e.getMessage());

        INDArray dbl = Nd4j.zeros(DataType.DOUBLE, n);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> adamw.restore(Map.of(AdamWState.M, dbl, AdamWState.V, dbl), meta));
        assertEquals("AdamW state tensor 'adamw.m' has type DOUBLE but this optimizer works in FLOAT", e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class, () -> adamw.restore(Map.of(AdamWState.M, m, AdamWState.V, dbl), meta));
        assertEquals(
                "AdamW state: AdamW state tensors disagree: 'adamw.m' is FLOAT [71160] but 'adamw.v' is DOUBLE [71160]",
                e.getMessage());

        e = assertThrows(
                IllegalArgumentException.class,
                () -> adamw.restore(Map.of(AdamWState.M, m.reshape(1, n), AdamWState.V, m), meta));
        assertEquals(
                "AdamW state: AdamW state tensor 'adamw.m' must have shape [n] with n >= 1, found [1, 71160]",
                e.getMessage());

        Map<String, INDArray> good = Map.of(AdamWState.M, m, AdamWState.V, m);
        e = assertThrows(IllegalArgumentException.class, () -> adamw.restore(good, Map.of()));
        assertEquals("AdamW state: AdamW state metadata 'adamw.step' is missing", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adamw.restore(good, Map.of(AdamWState.STEP, "3.5")));
        assertEquals(
                "AdamW state: AdamW state metadata 'adamw.step' must be a non-negative integer, found '3.5'",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> adamw.restore(good, Map.of(AdamWState.STEP, "-1")));
        assertEquals("AdamW state: AdamW state 'adamw.step' must be >= 0, found -1", e.getMessage());

        assertEquals(0, adamw.step(), "no refused restore changed the optimizer");
        adamw.restore(good, meta);
        assertEquals(5, adamw.step());
    }

    @Test
    void readRefusesAFileThatIsNotOptimizerState(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("model.safetensors");
        SafeTensors.write(file, Map.of("backbone.norm_f.weight", Nd4j.ones(DataType.FLOAT, 4)), Map.of());
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> AdamWState.read(file));
        assertEquals(
                file + ": AdamW state tensor 'adamw.m' is missing (found [backbone.norm_f.weight])", e.getMessage());
    }
}
