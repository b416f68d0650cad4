package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * A scoring task's ND4J memory ends with the segment step that made it, and the model a task builds outlives the
 * task's scratch scopes.
 */
class SegmentWorkMemoryTest {

  /** One Mamba-2 layer of the bench model (d_model 256, d_state 64, headdim 32). */
  private static ModelBlob benchLayer() {
    MambaConfig c = MambaConfig.builder().dModel(256).nLayer(1).vocabSize(256).padVocabSizeMultiple(8)
        .dIntermediate(0).ssm(SsmConfig.builder().dState(64).headdim(32).chunkSize(64).build()).build();
    return ModelBlob.of(c, ModelInit.newModel(c, 5, DataType.FLOAT).parameters());
  }

  /**
   * A 16K-token segment's Mamba2 steps allocate about 0.5 GB of native memory each time; run six times, they must
   * leave the native part of the resident set where the second run left it (without the scratch scopes it grows by that much per run
   * until a GC happens to collect the arrays' Java objects).
   */
  @Test
  void repeatedSegmentStepsDoNotGrowTheResidentSet() {
    ModelBlob blob = benchLayer();
    HybridLm m = blob.model();
    int[] tokens = new Random(7).ints(16_384, 0, 256).toArray();
    long afterSecond = 0;
    long peak = 0;
    float[] first = null;
    for (int run = 0; run < 6; run++) {
      SegmentState s = SegmentWork.embed(m, 0, "seq", 0, tokens);
      SegmentState pending = SegmentWork.mambaFromZeroState(m, 0, s, null);
      SegmentState next = SegmentWork.mambaFinish(m, 0, pending, pending.e);
      if (first == null) {
        first = next.stream.floats;
      } else {
        assertArrayEquals(first, next.stream.floats, 0f, "run " + run);
      }
      long rss = NativeResident.bytes();
      if (run == 1) {
        afterSecond = rss;
      }
      peak = Math.max(peak, rss);
    }
    blob.release();
    long growth = peak - afterSecond;
    System.out.printf("segment steps: resident set outside the JVM's heaps %d MiB after run 2, peak %d MiB over"
        + " runs 3-6%n", afterSecond >> 20, peak >> 20);
    assertTrue(growth < 256L << 20, "native resident set grew by " + (growth >> 20) + " MiB over runs 3-6");
  }

  @Test
  void aModelFirstBuiltInsideAScratchScopeOutlivesIt() {
    ModelBlob blob = benchLayer();
    int[] tokens = new Random(8).ints(100, 0, 256).toArray();
    HybridLm m;
    try (Scratch scope = Scratch.open()) {
      m = blob.model();
    }
    assertFalse(m.parameters().isAttached());
    float[] again = SegmentWork.embed(m, 0, "seq", 0, tokens).stream.floats;
    HybridLm fresh = new HybridLm(m.config(), m.parameters().dup());
    assertArrayEquals(SegmentWork.embed(fresh, 0, "seq", 0, tokens).stream.floats, again, 0f);
    blob.release();
  }
}
