package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.model.config.MambaConfig;
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
 * The sharded reduce ({@link ShardedState}) gives the driver fold's parameters bit for bit: 1, 2, 4 and 7
 * partitions (7 uneven over the windows), 1, 3 and 8 shards, float32 and float64, tied and untied heads, with
 * clipping active in every step and gradient accumulation; its checkpoints are the same files, resume bitwise, and
 * a failed reducer task is retried with the same result.
 */
class ShardedReduceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SparkSession spark;

    @TempDir
    static Path dir;

    private static Path untied;
    private static Path tied;

    @BeforeAll
    static void start() throws IOException {
        spark = TrainTestSupport.spark();
        MambaConfig model = TrainTestSupport.tinyModel();
        untied = TrainTestSupport.writeModel(Files.createDirectories(dir.resolve("untied")), model);
        tied = TrainTestSupport.writeModel(
                Files.createDirectories(dir.resolve("tied")),
                model.toBuilder().tieEmbeddings(true).build());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** The tiny run with a clip threshold below every step's gradient norm. */
    private static TrainConfig run(Path model, String dtype, int partitions, String reduce, int shards, String name) {
        TrainConfig c = TrainTestSupport.tinyRun(model, dir.resolve(name), dtype, partitions);
        c.maxGradNorm = 0.05;
        c.reduce = reduce;
        c.reduceShards = shards;
        return c;
    }

    private static Trainer.Result train(TrainConfig c) throws IOException {
        return new Trainer(spark).train(c);
    }

    private static List<JsonNode> trainRecords(String out) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(out, MetricsLog.FILE))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) {
                records.add(n);
            }
        }
        return records;
    }

    private static void assertSameBits(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.dataType(), actual.dataType(), what);
        if (expected.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE) {
            assertArrayEquals(expected.toDoubleVector(), actual.toDoubleVector(), 0.0, what);
        } else {
            assertArrayEquals(expected.toFloatVector(), actual.toFloatVector(), 0.0f, what);
        }
    }

    private void everyPartitionAndShardCountGivesTheDriversBits(Path model, String dtype, int[][] cases)
            throws IOException {
        String tag = dtype + "-" + model.getParent().getFileName();
        Trainer.Result reference = train(run(model, dtype, 2, "driver", 0, tag + "-driver"));
        List<JsonNode> referenceRecords =
                trainRecords(dir.resolve(tag + "-driver").toString());
        for (JsonNode r : referenceRecords) {
            assertTrue(r.get("clipped").asBoolean(), "clipping is active in step " + r.get("step"));
        }
        for (int[] c : cases) {
            String name = tag + "-p" + c[0] + "-k" + c[1];
            Trainer.Result sharded = train(run(model, dtype, c[0], "sharded", c[1], name));
            assertSameBits(reference.parameters(), sharded.parameters(), name);
            assertEquals(reference.trainLoss(), sharded.trainLoss(), 0.0, name + " train loss");
            assertEquals(reference.validationLoss(), sharded.validationLoss(), 0.0, name + " validation loss");
            List<JsonNode> records = trainRecords(dir.resolve(name).toString());
            for (int s = 0; s < records.size(); s++) {
                assertEquals(
                        referenceRecords.get(s).get("grad_norm").asDouble(),
                        records.get(s).get("grad_norm").asDouble(),
                        0.0);
                assertEquals(c[1], records.get(s).get("reduce_shards").asInt(), name);
            }
        }
    }

    @Test
    void float32UntiedEqualsTheDriverFoldBitwise() throws IOException {
        everyPartitionAndShardCountGivesTheDriversBits(
                untied, "float32", new int[][] {{1, 1}, {1, 8}, {2, 3}, {4, 1}, {4, 8}, {7, 3}, {7, 8}});
    }

    @Test
    void float32TiedEqualsTheDriverFoldBitwise() throws IOException {
        everyPartitionAndShardCountGivesTheDriversBits(tied, "float32", new int[][] {{1, 3}, {2, 8}, {7, 1}});
    }

    @Test
    void float64EqualsTheDriverFoldBitwise() throws IOException {
        everyPartitionAndShardCountGivesTheDriversBits(untied, "float64", new int[][] {{1, 8}, {4, 3}, {7, 1}});
        everyPartitionAndShardCountGivesTheDriversBits(tied, "float64", new int[][] {{2, 3}});
    }

    @Test
    void gradientAccumulationRoundsAreAddedInTheDriversOrder() throws IOException {
        TrainConfig driver = run(untied, "float32", 3, "driver", 0, "accum-driver");
        driver.gradAccum = 2;
        driver.microBatch = 1;
        TrainConfig sharded = run(untied, "float32", 3, "sharded", 3, "accum-sharded");
        sharded.gradAccum = 2;
        sharded.microBatch = 1;
        assertSameBits(train(driver).parameters(), train(sharded).parameters(), "grad-accum 2");
    }

    @Test
    void resumedShardedRunEqualsTheUninterruptedOneAndTheCheckpointsAreTheDriversFiles() throws IOException {
        TrainConfig whole = run(untied, "float32", 2, "sharded", 3, "resume-whole");
        whole.steps = 6;
        whole.checkpointEvery = 3;
        Trainer.Result uninterrupted = train(whole);

        TrainConfig driver = run(untied, "float32", 2, "driver", 0, "resume-driver");
        driver.steps = 6;
        driver.checkpointEvery = 3;
        train(driver);
        Path checkpoint = Path.of(whole.out, Trainer.CHECKPOINTS_DIR, "step-00000003");
        Path driverCheckpoint = Path.of(driver.out, Trainer.CHECKPOINTS_DIR, "step-00000003");
        for (String file : new String[] {TrainingCheckpoint.OPTIMIZER_FILE, "model.safetensors"}) {
            assertArrayEquals(
                    Files.readAllBytes(driverCheckpoint.resolve(file)),
                    Files.readAllBytes(checkpoint.resolve(file)),
                    file + " written shard by shard equals the driver's");
        }

        TrainConfig resume = new TrainConfig();
        resume.resume = checkpoint.toString();
        resume.out = dir.resolve("resume-resumed").toString();
        Trainer.Result resumed = train(resume);
        assertSameBits(uninterrupted.parameters(), resumed.parameters(), "resumed at step 3 of 6");

        TrainConfig across = new TrainConfig(); // a driver-path checkpoint continued sharded (the reduce is not math)
        across.resume = driverCheckpoint.toString();
        across.reduce = "sharded";
        across.reduceShards = 8;
        across.out = dir.resolve("resume-across").toString();
        assertSameBits(uninterrupted.parameters(), train(across).parameters(), "driver checkpoint resumed sharded");
    }

    @Test
    void aFailedReducerIsRetriedAndChangesNothing() throws IOException {
        Trainer.Result clean = train(run(untied, "float32", 2, "sharded", 3, "fault-clean"));
        TrainConfig faulty = run(untied, "float32", 2, "sharded", 3, "fault-injected");
        faulty.injectTaskFailure = "reduce:2:1";
        assertSameBits(clean.parameters(), train(faulty).parameters(), "reducer 1 of step 2 failed once");
        TrainConfig taskFault = run(untied, "float32", 2, "sharded", 3, "fault-task");
        taskFault.injectTaskFailure = "3:1";
        assertSameBits(clean.parameters(), train(taskFault).parameters(), "training task 1 of step 3 failed once");
    }

    @Test
    void badReduceOptionsAreRefusedByName() {
        TrainConfig c = run(untied, "float32", 2, "sideways", 0, "bad");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> train(c));
        assertTrue(
                e.getMessage().contains("--reduce: expected driver, sharded or auto but found 'sideways'"),
                e.getMessage());
        TrainConfig sp = run(untied, "float32", 1, "sharded", 0, "bad-sp");
        sp.sequenceParallel = 2;
        sp.microBatch = 1;
        e = assertThrows(IllegalArgumentException.class, () -> train(sp));
        assertTrue(
                e.getMessage().contains("--reduce sharded: not available with --sequence-parallel 2"), e.getMessage());
        TrainConfig many = run(untied, "float32", 2, "sharded", 1_000_000_000, "bad-k");
        e = assertThrows(IllegalArgumentException.class, () -> train(many));
        assertTrue(e.getMessage().contains("--reduce-shards 1000000000: expected 1 to"), e.getMessage());
    }

    @Test
    void autoShardsOnceTheDriverWouldReceiveMoreThanHalfSparksResultLimit() {
        TrainConfig c = TrainConfig.defaults();
        c.partitions = 2;
        assertEquals(false, ShardedReduceChoice.sharded(c, 6_344_992)); // the bench model: 152 MB per step
        c.partitions = 8;
        assertEquals(true, ShardedReduceChoice.sharded(c, 6_344_992)); // 609 MB
        c.partitions = 1;
        assertEquals(false, ShardedReduceChoice.sharded(c, 44_739_242)); // 12 bytes each: just below 512 MiB
        assertEquals(true, ShardedReduceChoice.sharded(c, 44_739_243));
        c.sequenceParallel = 2;
        assertEquals(false, ShardedReduceChoice.sharded(c, 130_000_000)); // the barrier path folds on the driver
        c.sequenceParallel = 1;
        c.reduce = "driver";
        assertEquals(false, ShardedReduceChoice.sharded(c, 130_000_000));
        assertEquals(8, ShardedReduceChoice.shards(cWith(8, 0), 1000));
        assertEquals(3, ShardedReduceChoice.shards(cWith(8, 3), 1000));
        assertEquals(5, ShardedReduceChoice.shards(cWith(8, 0), 5));
    }

    private static TrainConfig cWith(int partitions, int shards) {
        TrainConfig c = TrainConfig.defaults();
        c.partitions = partitions;
        c.reduceShards = shards;
        return c;
    }
}
