package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A 1 GB BF16 checkpoint in transformers' sharded layout (16 shards) loads with a Java heap far smaller than the
 * checkpoint: the loader streams one shard at a time into the flat vector, which lives off the heap, and never holds
 * the shards' bytes. The peak heap the load adds is printed and held under 256 MB.
 */
class LargeShardedCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void aOneGigabyteBf16CheckpointLoadsWithASmallHeap() throws Exception {
        // the checkpoint and its fixture take about 1 GB of disk and 4 GB of native memory
        Assumptions.assumeTrue(
                dir.toFile().getUsableSpace() > 4L << 30, "needs 4 GB free beside " + dir + " for a 1 GB checkpoint");
        // d_model 2048, 20 Mamba-2 layers: 517,511,936 parameters, 1.04 GB in BF16
        MambaConfig c = MambaConfig.builder()
                .dModel(2048)
                .nLayer(20)
                .vocabSize(256)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder().dState(128).headdim(64).build())
                .build();
        long parameters = CheckpointSchema.of(c).totalParameters();
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        Nd4j.getRandom().setSeed(11);
        for (TensorSpec t : CheckpointSchema.of(c).tensors()) {
            try (INDArray r = Nd4j.rand(DataType.FLOAT, t.shape()).subi(0.5);
                    INDArray b = r.castTo(DataType.BFLOAT16)) {
                tensors.put(t.name(), b.castTo(DataType.FLOAT)); // values BF16 holds exactly
            }
        }
        Path ckpt = dir.resolve("hf");
        CheckpointFixtures.writeTransformersMamba2(ckpt, c, tensors, "BF16", 16, Map.of());
        tensors.values().forEach(INDArray::close);
        long bytes;
        try (Stream<Path> files = Files.list(ckpt)) {
            bytes = files.filter(f -> f.toString().endsWith(".safetensors"))
                    .mapToLong(f -> f.toFile().length())
                    .sum();
        }
        assertTrue(bytes > 1_000_000_000L, "checkpoint bytes " + bytes);

        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP)
                .toList();
        System.gc();
        long before = heapUsed(heap);
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        LoadedCheckpoint loaded = Checkpoint.load(ckpt, DataType.FLOAT);
        long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        try (INDArray flat = loaded.flatParameters(DataType.FLOAT)) {
            assertEquals(parameters, flat.length());
        }
        long added = peak - before;
        System.out.printf(
                "large checkpoint: %,d parameters, %.2f GB of BF16 in 16 shards; heap in use %d MiB before the load,"
                        + " peak heap added by the load %d MiB (sum of the heap pools' peaks)%n",
                parameters, bytes / 1e9, before >> 20, added >> 20);
        assertTrue(added < 256L << 20, "the load added " + (added >> 20) + " MiB of heap");
    }

    private static long heapUsed(List<MemoryPoolMXBean> heap) {
        return heap.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
    }
}
