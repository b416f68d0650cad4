package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * A 1 GB BF16 checkpoint in transformers' sharded layout (16 shards) loads in a JVM whose -Xmx is a third of it: the
 * loader streams one shard at a time into the flat vector, which lives off the heap, and never holds the shards'
 * bytes.
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

        // Loaded in a JVM of its own whose heap (-Xmx384m) is a third of the checkpoint: it loads only when the
        // shards are streamed into the off-heap flat vector rather than read into the heap.
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-Xmx") && !arg.startsWith("-agentlib") && !arg.startsWith("-javaagent")) {
                command.add(arg);
            }
        }
        command.addAll(List.of(
                "-Xmx384m",
                // native memory is not what is measured: the flat vector's 2 GB live off the heap
                "-Dorg.bytedeco.javacpp.maxBytes=8g",
                "-Dorg.bytedeco.javacpp.maxPhysicalBytes=10g",
                "-cp",
                System.getProperty("java.class.path"),
                Load.class.getName(),
                ckpt.toString()));
        Process load = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(load.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, load.waitFor(), output);
        assertTrue(output.contains("loaded " + parameters + " parameters"), output);
        System.out.printf(
                "large checkpoint: %,d parameters, %.2f GB of BF16 in 16 shards, loaded by a JVM with -Xmx384m: %s%n",
                parameters,
                bytes / 1e9,
                output.strip().lines().reduce((a, b) -> b).orElse(""));
    }

    /** The child JVM: loads the checkpoint and prints its parameter count and the heap still in use after a GC. */
    public static final class Load {
        public static void main(String[] args) throws Exception {
            LoadedCheckpoint loaded = Checkpoint.load(Path.of(args[0]), DataType.FLOAT);
            try (INDArray flat = loaded.flatParameters(DataType.FLOAT)) {
                System.gc();
                Runtime r = Runtime.getRuntime();
                System.out.println("loaded " + flat.length() + " parameters; heap in use after a GC "
                        + ((r.totalMemory() - r.freeMemory()) >> 20) + " MiB of " + (r.maxMemory() >> 20) + " MiB");
            }
        }
    }
}
