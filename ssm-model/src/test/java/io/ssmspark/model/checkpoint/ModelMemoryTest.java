package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.tensor.MemoryLimits;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** A model that cannot fit is refused with its figures; one that fits passes. */
class ModelMemoryTest {
    private static final long GIB = 1L << 30;
    /** 3 GiB of heap, JavaCPP's limit 12 GiB, 16 GiB of physical memory. */
    private static final MemoryLimits LIMITS = new MemoryLimits(3 * GIB, 12 * GIB, 16 * GIB);

    private static MambaConfig model(int dModel, int layers) {
        return MambaConfig.builder()
                .dModel(dModel)
                .nLayer(layers)
                .vocabSize(16)
                .ssm(SsmConfig.builder().dState(16).headdim(64).build())
                .build();
    }

    @Test
    void aModelThatFitsPasses() {
        MambaConfig small = model(64, 2);
        new ModelMemory("training", 72, 4, ModelMemory.MAX_JAVA_ARRAY).require(small, "small.json", LIMITS);
        ModelMemory.loading(DataType.DOUBLE).require(small, "small.json", LIMITS);
    }

    @Test
    void theFiguresAndTheLimitAreNamed() {
        MambaConfig big = model(65_536, 64); // 3.2e11 parameters
        long parameters = ModelSize.parameters(big);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> ModelMemory.loading(DataType.FLOAT).require(big, "big/config.json", LIMITS));
        assertEquals(
                String.format(
                        java.util.Locale.ROOT,
                        "big/config.json: the model has %,d parameters (d_model 65536,"
                                + " n_layer 64, padded vocabulary 16); loading it as float32 (its tensors and their flat copy) needs"
                                + " at least %s (8 bytes per parameter) but this JVM may use 12.0 GiB in all and 3.0 GiB of heap"
                                + " (org.bytedeco.javacpp.maxPhysicalBytes 12.0 GiB, physical memory 16.0 GiB, -Xmx 3.0 GiB): make"
                                + " the model smaller (d_model, n_layer, d_intermediate, vocab_size) or give the JVM more memory (-Xmx"
                                + " and -Dorg.bytedeco.javacpp.maxPhysicalBytes: in SSM_SPARK_JAVA_OPTS for bin/ssm-spark,"
                                + " spark.driver.memory under spark-submit)",
                        parameters,
                        ModelMemory.size(8 * parameters)),
                e.getMessage());
        assertEquals(8 * parameters, ModelMemory.loading(DataType.FLOAT).bytes(parameters));
    }

    /** 100 M parameters: 0.4 GB of native buffers fit, but 8 bytes each on the heap (0.75 GiB) do not fit 0.5 GiB. */
    @Test
    void theHeapIsCheckedOnItsOwn() {
        MambaConfig c = model(2048, 4);
        long parameters = ModelSize.parameters(c);
        assertTrue(parameters > 100_000_000 && parameters < 120_000_000, "" + parameters);
        MemoryLimits smallHeap = new MemoryLimits(GIB / 2, 12 * GIB, 16 * GIB);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new ModelMemory("training", 4, 8, Long.MAX_VALUE).require(c, "c.json", smallHeap));
        assertTrue(
                e.getMessage()
                        .contains("(12 bytes per parameter, " + ModelMemory.size(8 * parameters)
                                + " of them on the heap) but this JVM may use 12.0 GiB in all and 512.0 MiB of heap"),
                e.getMessage());
    }

    @Test
    void moreParametersThanAJavaArrayHoldsAreRefused() {
        MambaConfig c = model(8192, 8); // 2.4e9 parameters
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new ModelMemory("training", 0, 0, ModelMemory.MAX_JAVA_ARRAY).require(c, "c.json", LIMITS));
        assertTrue(
                e.getMessage()
                        .endsWith("); training holds them in one Java array, of at most 2,147,483,639 entries:"
                                + " make the model smaller (d_model, n_layer, d_intermediate, vocab_size)"),
                e.getMessage());
    }

    @Test
    void noLimitAndUnknownMemoryAreSaidSo() {
        MemoryLimits unknown = new MemoryLimits(GIB, 0, 0);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new ModelMemory("training", 0, 8, Long.MAX_VALUE).require(model(65_536, 64), "c.json", unknown));
        assertTrue(
                e.getMessage()
                        .contains("(org.bytedeco.javacpp.maxPhysicalBytes none, physical memory unknown,"
                                + " -Xmx 1.0 GiB)"),
                e.getMessage());
    }
}
