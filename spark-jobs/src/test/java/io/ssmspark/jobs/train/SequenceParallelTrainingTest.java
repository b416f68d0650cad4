package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code train --sequence-parallel S}: after 3 AdamW steps the parameters of S = 2 and 4 parts with 2 data-parallel
 * groups equal those of whole windows on one task (fp64), for a Mamba2/attention hybrid and for Mamba-1; a task
 * that fails mid-step reruns the step with the same result; the exchanged bytes per step are exactly what the
 * layers' summaries and halos weigh, whatever the window length.
 */
class SequenceParallelTrainingTest {
    private static SparkSession spark;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        spark = SparkSessions.builder("sequence-parallel-train-tests")
                .master("local[8]")
                .forTests()
                .build();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static TrainConfig run(MambaConfig model, String name, int partitions, int parts, int seqLen)
            throws IOException {
        Path out = dir.resolve(name);
        Files.createDirectories(out);
        TrainConfig c = TrainTestSupport.tinyRun(
                TrainTestSupport.writeModel(out, model), out.resolve("run"), "float64", partitions);
        c.microBatch = 1;
        c.steps = 3;
        c.seqLen = seqLen;
        c.sequenceParallel = parts;
        return c;
    }

    private static INDArray train(TrainConfig c) throws IOException {
        return new Trainer(spark).train(c).parameters();
    }

    private static void equalsOneTask(MambaConfig model, String name) throws IOException {
        INDArray whole = train(run(model, name + "-s1", 1, 1, 24));
        for (int parts : new int[] {2, 4}) {
            INDArray cut = train(run(model, name + "-s" + parts, 2, parts, 24));
            double diff = TrainTestSupport.maxRelativeDifference(whole, cut);
            assertTrue(diff <= 1e-10, name + " S=" + parts + " D=2 vs S=1 D=1: max relative difference " + diff);
        }
    }

    @Test
    void mamba2AttentionHybridEqualsWholeWindows() throws IOException {
        equalsOneTask(TrainTestSupport.tinyModel(), "hybrid");
    }

    @Test
    void mamba1EqualsWholeWindows() throws IOException {
        MambaConfig m = TinyModels.pureMamba1().toBuilder().vocabSize(129).build();
        equalsOneTask(m, "mamba1");
    }

    @Test
    void aPartFailingMidStepRerunsTheStepWithTheSameResult() throws IOException {
        INDArray clean = train(run(TrainTestSupport.tinyModel(), "clean", 2, 2, 24));
        TrainConfig faulty = run(TrainTestSupport.tinyModel(), "faulty", 2, 2, 24);
        faulty.injectTaskFailure = "2:3"; // step 2, task 3 (group 1, part 1), after its first window
        assertArrayEquals(clean.toDoubleVector(), train(faulty).toDoubleVector());
    }

    /**
     * Pure Mamba2 (2 layers, 2 parts, 2 windows per group and step): per layer and window, part 0 sends its
     * (d_conv−1)-row tail and its summary and part 1 its summary forward; back, each sends its state gradient and
     * part 1 its halo gradient. Those counts do not depend on the window length.
     */
    @Test
    void exchangedBytesPerStepDoNotGrowWithTheWindow() throws IOException {
        MambaConfig m = TinyModels.pureMamba().toBuilder().vocabSize(129).build();
        List<Long> up = new ArrayList<>();
        for (int seqLen : new int[] {16, 48}) {
            TrainConfig c = run(m, "bytes-" + seqLen, 2, 2, seqLen);
            new Trainer(spark).train(c);
            JsonNode first = new ObjectMapper()
                    .readTree(
                            Files.readAllLines(Path.of(c.out, "metrics.jsonl")).get(0));
            up.add(first.get("exchange_bytes_up").asLong());
        }
        // pureMamba: H = 4 heads, P = 4, N = 4, conv_dim = d_inner + 2·N = 24, d_conv 3; fp64 blocks with a
        // 4-byte count, a kind byte, a 4-byte rank and 8 bytes per dimension each
        long alpha = 1 + 4 + 2 * 8 + 4 * 8;
        long e = 1 + 4 + 2 * 8 + 64 * 8;
        long tail = 1 + 4 + 2 * 8 + 2 * 24 * 8;
        long state = 1 + 4 + 2 * 8 + 64 * 8;
        long perWindowLayer = (4 + tail)
                + 0 // halo round: part 0's tail, part 1 sends nothing
                + 2 * (4 + alpha + e) // summary round
                + 2 * (4 + state) // state-gradient round
                + (4 + tail)
                + 0; // halo-gradient round: part 1's, part 0 sends nothing
        long expected = perWindowLayer * 2 /* layers */ * 4 /* windows per step */;
        assertEquals(List.of(expected, expected), up);
    }

    @Test
    void tooFewSlotsIsOneClearError() throws IOException {
        TrainConfig c = run(TrainTestSupport.tinyModel(), "slots", 4, 4, 24);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> train(c));
        assertTrue(e.getMessage().contains("16 barrier tasks at once"), e.getMessage());
    }
}
