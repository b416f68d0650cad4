package io.ssmspark.jobs.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.jobs.spark.Interruption;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.jobs.train.TrainConfig;
import io.ssmspark.jobs.train.Trainer;
import io.ssmspark.jobs.train.TrainingMemory;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.tensor.MemoryLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark bench train}: real training steps of the train-step bench's model on Spark, once
 * per partition count and sequence-parallel degree, with each step split into the slowest task's compute and the
 * Spark overhead around it (broadcast, scheduling, aggregation, optimizer), from the trainer's own per-step
 * metrics, and for {@code --sequence-parallel S > 1} the share of the step the slowest task waited in the part
 * exchange and the bytes it moved. The process's peak resident set during each run ({@link MemoryPeaks}; in
 * local mode the executors are this process) comes with it. One JSON line per run; a combination needing more
 * barrier tasks (P·S) than the master has slots is left out.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Time training steps on Spark for several partition counts; one JSON line each.",
            "Overhead = step time minus the compute on the critical path (the slowest task, or all tasks' compute over"
                    + " the task slots when there are more tasks than slots); the first step (warm-up) is left out."
        })
public final class TrainBench implements Callable<Integer> {
    @Option(names = "--partitions", split = ",", description = "Partition counts (default: ${DEFAULT-VALUE}).")
    int[] partitions = {1, 2, 4};

    @Option(
            names = "--sequence-parallel",
            split = ",",
            description = "Parts per window, each list entry one run per partition count (default: ${DEFAULT-VALUE}).")
    int[] sequenceParallel = {1};

    @Option(
            names = "--pattern",
            description = "The bench model's layers, one letter each: M = Mamba2, A = attention (default: the"
                    + " train-step bench's, ${DEFAULT-VALUE}).")
    String pattern = new TrainStepBench().pattern;

    @Option(
            names = "--chunk-size",
            description = "The bench model's SSD chunk length Q; a task's SSD keeps about T·H·Q values per layer for"
                    + " the backward (default: the train-step bench's, ${DEFAULT-VALUE}).")
    int chunkSize = new TrainStepBench().chunkSize;

    @Option(
            names = "--reduce",
            split = ",",
            description =
                    "Gradient reduce paths, each one run per partition count: driver (every task's gradient to the"
                            + " driver) or sharded (through shuffles to reducers on the executors) (default: ${DEFAULT-VALUE}).")
    String[] reduce = {"driver", "sharded"};

    @Option(
            names = "--reduce-shards",
            description = "Shards of the sharded reduce (0: one per partition; default: ${DEFAULT-VALUE}).")
    int reduceShards = 0;

    @Option(
            names = "--d-model",
            description = "The bench model's d_model (default: the train-step bench's, ${DEFAULT-VALUE}).")
    int dModel = new TrainStepBench().dModel;

    @Option(
            names = "--d-intermediate",
            description = "The bench model's GatedMLP width (default: the train-step bench's, ${DEFAULT-VALUE}).")
    int dIntermediate = new TrainStepBench().dIntermediate;

    @Option(
            names = "--steps",
            description = "Steps per partition count, the first untimed (default: ${DEFAULT-VALUE}).")
    int steps = 3;

    @Option(names = "--seq-len", description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    int seqLen = 1024;

    @Option(names = "--global-batch", description = "Windows per step (default: ${DEFAULT-VALUE}).")
    int globalBatch = 8;

    @Option(names = "--micro-batch", description = "Windows per forward/backward batch (default: ${DEFAULT-VALUE}).")
    int microBatch = 2;

    @Option(names = "--master", description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master = "local[2]";

    @Option(names = "--data", description = "Data spec (default: ${DEFAULT-VALUE}).")
    String data = "synthetic:associative-recall?documents=4000";

    @Mixin
    ProjectionOptions projection = new ProjectionOptions();

    @Override
    public Integer call() throws IOException {
        if (projection.requested()) {
            return projection.run(master);
        }
        if (steps < 2) {
            throw new IllegalArgumentException(
                    "--steps: expected at least 2 (the first is a warm-up) but found " + steps);
        }
        TrainStepBench shape = new TrainStepBench();
        shape.pattern = pattern;
        shape.chunkSize = chunkSize;
        shape.dModel = dModel;
        shape.dIntermediate = dIntermediate;
        MambaConfig model = shape.config();
        TrainingMemory.of(DataType.FLOAT).require(model, TrainStepBench.OPTIONS, MemoryLimits.ofThisJvm());
        Path work = Files.createTempDirectory("ssm-spark-bench-train");
        Interruption.leaves(
                "its scratch directory " + work + " may be left behind; the JSON lines it printed are" + " complete");
        Path modelConfig = work.resolve("config.json");
        Files.writeString(modelConfig, model.toJson());
        SparkSession spark =
                SparkSessions.builder("ssm-spark bench train").master(master).build();
        try {
            int slots = spark.sparkContext().defaultParallelism();
            for (int sp : sequenceParallel) {
                for (int p : partitions) {
                    for (String path : reduce) {
                        if (sp > 1 && (p * sp > slots || !path.equals("driver"))) {
                            // a barrier stage wider than the master's slots never starts, and a sequence-parallel
                            // step folds on the driver (the trainer refuses --reduce sharded with it)
                            continue;
                        }
                        runOne(spark, work, modelConfig, model, p, sp, path);
                    }
                }
            }
        } finally {
            spark.stop();
            deleteRecursively(work);
        }
        return 0;
    }

    /** One run of {@code p} partitions × {@code sp} parts per window, reduced on {@code path}: its JSON line. */
    private void runOne(SparkSession spark, Path work, Path modelConfig, MambaConfig model, int p, int sp, String path)
            throws IOException {
        TrainConfig c = new TrainConfig();
        c.modelConfig = modelConfig.toString();
        c.data = data;
        c.seqLen = seqLen;
        c.globalBatch = globalBatch;
        c.microBatch = sp > 1 ? 1 : microBatch;
        c.steps = steps;
        c.partitions = p;
        c.sequenceParallel = sp;
        c.master = master;
        c.reduce = path;
        c.reduceShards = reduceShards;
        Path out = work.resolve("p" + p + "-s" + sp + "-" + path);
        c.out = out.toString();
        JsonLine line;
        DriverResultBytes received = new DriverResultBytes();
        spark.sparkContext().addSparkListener(received);
        try (MemoryPeaks peaks = new MemoryPeaks()) {
            new Trainer(spark).train(c);
            awaitListeners(spark);
            line = summarize(
                            out.resolve("metrics.jsonl"),
                            p,
                            spark.sparkContext().defaultParallelism(),
                            model)
                    .put("sequence_parallel", sp)
                    .put("micro_batch", c.microBatch)
                    .put("peak_rss_bytes", peaks.residentSet.get())
                    .put("peak_heap_after_gc_bytes", peaks.heapAfterGc.get())
                    .put("reduce", path)
                    .put("driver_result_bytes_per_step", received.bytes.get() / steps);
        } finally {
            spark.sparkContext().removeSparkListener(received);
        }
        System.out.println(BlasKernels.describe(line.put("gemm_gflops", GemmPeak.measureGflops())));
    }

    /**
     * Medians over the timed steps of the trainer's metrics records. The compute on a step's critical path is the
     * slowest task, or, with more tasks than task slots, the tasks' total compute spread over the slots (4 tasks on
     * local[2] run in two waves); the overhead is the rest of the step.
     */
    JsonLine summarize(Path metrics, int partitionCount, int taskSlots, MambaConfig model) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> timed = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode r = json.readTree(line);
            if ("train".equals(r.path("type").asText()) && r.path("step").asInt() > 1) {
                timed.add(r);
            }
        }
        double step = median(timed, "step_ms") / 1e3;
        double slowestTask = median(timed, "task_compute_max_ms") / 1e3;
        double spreadOverSlots = median(timed, "task_compute_mean_ms") / 1e3 * partitionCount / Math.max(1, taskSlots);
        double compute = Math.max(slowestTask, spreadOverSlots);
        return new JsonLine()
                .put("bench", "train")
                .put("master", master)
                .put("partitions", partitionCount)
                .put(
                        "params",
                        io.ssmspark.model.checkpoint.CheckpointSchema.of(model).totalParameters())
                .put("seq_len", seqLen)
                .put("global_batch", globalBatch)
                .put("timed_steps", timed.size())
                .put("task_slots", taskSlots)
                .put("step_s", step)
                .put("compute_s", compute)
                .put("task_compute_max_s", slowestTask)
                .put("broadcast_s", median(timed, "broadcast_ms") / 1e3)
                .put("aggregate_s", median(timed, "aggregate_ms") / 1e3)
                .put("optimizer_s", median(timed, "optimizer_ms") / 1e3)
                .put("overhead_s", step - compute)
                .put("overhead_fraction", (step - compute) / step)
                .put("tokens_per_s", (double) globalBatch * seqLen / step)
                .put("broadcast_bytes", timed.get(0).path("broadcast_bytes").asLong())
                .put("result_bytes", timed.get(0).path("result_bytes").asLong())
                .put("exchange_wait_max_s", median(timed, "exchange_wait_max_ms") / 1e3)
                .put("exchange_fraction", median(timed, "exchange_wait_max_ms") / 1e3 / step)
                .put(
                        "exchange_bytes_down",
                        timed.get(0).path("exchange_bytes_down").asLong())
                .put("reduce_shards", timed.get(0).path("reduce_shards").asInt(0))
                .put(
                        "gradient_shuffle_bytes",
                        timed.get(0).path("gradient_shuffle_bytes").asLong(0))
                .put("pattern", pattern)
                .put("chunk_size", chunkSize)
                .put("omp_threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "default"));
    }

    /** Waits until Spark's listeners have seen every event so far (the last tasks' ends). */
    private static void awaitListeners(SparkSession spark) {
        try {
            spark.sparkContext().listenerBus().waitUntilEmpty();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Spark's listener bus did not drain: " + e.getMessage(), e);
        }
    }

    private static double median(List<JsonNode> records, String field) {
        double[] v = records.stream()
                .mapToDouble(r -> r.path(field).asDouble())
                .sorted()
                .toArray();
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p :
                    paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
