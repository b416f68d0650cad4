package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.tensor.NativeResident;
import io.ssmspark.model.tensor.Scratch;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A scoring task's ND4J memory is one segment's stream plus the reused step block, however many segments it scores,
 * and the model a task builds outlives the task's scratch scopes.
 */
class SegmentPassMemoryTest {

    /** One Mamba-2 layer of the bench model (d_model 256, d_state 64, headdim 32). */
    private static ModelBlob benchLayer() {
        MambaConfig c = MambaConfig.builder()
                .dModel(256)
                .nLayer(1)
                .vocabSize(256)
                .padVocabSizeMultiple(8)
                .dIntermediate(0)
                .ssm(SsmConfig.builder().dState(64).headdim(32).chunkSize(64).build())
                .build();
        return ModelBlob.of(c, ModelInit.newModel(c, 5, DataType.FLOAT).parameters());
    }

    /**
     * A 16K-token segment's Mamba2 layer allocates about 0.5 GB of native memory each time; run six times, it must
     * leave the native part of the resident set where the second run left it (without the scratch scopes it grows by
     * that much per run until a GC happens to collect the arrays' Java objects).
     */
    @Test
    void repeatedSegmentStepsDoNotGrowTheResidentSet() {
        ModelBlob blob = benchLayer();
        HybridLm m = blob.newModel();
        int[] tokens = new Random(7).ints(16_384, 0, 256).toArray();
        long afterSecond = 0;
        long peak = 0;
        float[] first = null;
        for (int run = 0; run < 6; run++) {
            float[] stream;
            try (SegmentPass pass = SegmentPass.embed(m, 0, segment(tokens))) {
                pass.layer(0, null, summary -> summary.second); // E as the initial state: the correction runs too
                stream = pass.stream().floats;
            }
            if (first == null) {
                first = stream;
            } else {
                assertArrayEquals(first, stream, 0f, "run " + run);
            }
            long rss = NativeResident.bytes();
            if (run == 1) {
                afterSecond = rss;
            }
            peak = Math.max(peak, rss);
        }
        long growth = peak - afterSecond;
        System.out.printf(
                "segment steps: resident set outside the JVM's heaps %d MiB after run 2, peak %d MiB over"
                        + " runs 3-6%n",
                afterSecond >> 20, peak >> 20);
        assertTrue(growth < 256L << 20, "native resident set grew by " + (growth >> 20) + " MiB over runs 3-6");
    }

    private static Segment segment(int[] tokens) {
        return new Segment("seq", 0, 1, 0, tokens.length, tokens);
    }

    @Test
    void aModelFirstBuiltInsideAScratchScopeOutlivesIt() {
        ModelBlob blob = benchLayer();
        int[] tokens = new Random(8).ints(100, 0, 256).toArray();
        HybridLm m;
        try (Scratch scope = Scratch.open()) {
            m = blob.newModel();
        }
        assertFalse(m.parameters().isAttached());
        float[] again;
        try (SegmentPass pass = SegmentPass.embed(m, 0, segment(tokens))) {
            again = pass.stream().floats;
        }
        HybridLm fresh = new HybridLm(m.config(), m.parameters().dup());
        try (SegmentPass pass = SegmentPass.embed(fresh, 0, segment(tokens))) {
            assertArrayEquals(pass.stream().floats, again, 0f);
        }
    }
}
