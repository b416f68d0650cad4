package io.ssmspark.localtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.score.ScoredSegment;
import io.ssmspark.jobs.score.SequenceParallelScorer;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.jobs.train.TrainConfig;
import io.ssmspark.jobs.train.Trainer;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.lm.SequenceScorer;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A real multi-JVM run: a Spark standalone Master and two Workers on 127.0.0.1, each its own JVM from the
 * project's classpath; the Workers start one executor JVM each; a float64 training run submitted to that cluster
 * from this JVM gives the same parameters as the same run in local mode. The test also checks that the training
 * tasks really ran on both executors, and that those are two JVMs other than this one. Sequence-parallel scoring
 * on the same cluster gives the NLLs of one process.
 */
class StandaloneClusterTest {
    private static final int EXECUTORS = 2;
    private static final int PARTITIONS = 4;
    private static final int STEPS = 5;

    @TempDir
    static Path dir;

    private static LoopbackStandaloneCluster cluster;
    private static Path modelFile;
    private static Trainer.Result local;
    /** One application on the cluster for both tests (a second one may wait long for the Workers' executors). */
    private static SparkSession spark;

    @BeforeAll
    static void startCluster() throws Exception {
        assertFalse(LoopbackStandaloneCluster.java17Flags().isEmpty(), "the test JVM runs without Surefire's argLine");
        modelFile = dir.resolve("model-config.json");
        Files.writeString(modelFile, tinyModel().toJson());
        local = trainInLocalMode(); // before the cluster session: one SparkContext per JVM at a time
        cluster = LoopbackStandaloneCluster.start(EXECUTORS, dir.resolve("cluster"));
        SparkSessions builder = SparkSessions.builder("cluster-test")
                .master(cluster.masterUrl())
                .forTests();
        Map<String, String> executors = cluster.executorConf(EXECUTORS);
        // no spark.cores.max: the two Workers' cores are all the slots, which only Spark's slot check can find out
        // (with it set, the scorer refuses a wider stage before Spark checks; ApplicationSlotsTest)
        executors.remove("spark.cores.max");
        executors.forEach(builder::conf);
        // the barrier slot check gives up after one retry a second later (the launcher's default bound is 8 × 15 s)
        builder.conf(SparkSessions.BARRIER_CHECK_FAILURES, "1");
        builder.conf("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s");
        spark = builder.build();
        // The status tracker lists the driver too.
        cluster.await(
                "two executors to register with the driver",
                () -> spark.sparkContext().statusTracker().getExecutorInfos().length == EXECUTORS + 1);
    }

    @AfterAll
    static void stopCluster() {
        if (spark != null) {
            spark.stop();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * More segments scored at once than the cluster has task slots: Spark's slot check gives up after its bounded
     * retries, and the scorer says so in one message with the numbers instead of Spark's barrier error.
     */
    @Test
    void moreParallelSegmentsThanTheClustersSlotsAreRefusedWithTheNumbers() {
        MambaConfig c = tinyModel();
        int[] tokens = new java.util.Random(6).ints(90, 0, c.vocabSize()).toArray();
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            segments.add(new Segment(
                    "seq", i, 3, 30 * i, tokens.length, java.util.Arrays.copyOfRange(tokens, 30 * i, 30 * i + 30)));
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SequenceParallelScorer scorer = new SequenceParallelScorer(
                        jsc,
                        ModelBlob.of(c, ModelInit.initialize(c, 7L, DataType.FLOAT)),
                        StorageLevel.MEMORY_ONLY(),
                        0,
                        false,
                        3)
                .progressIn(dir.resolve("refused-progress").toString(), false, 0);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> scorer.score(jsc.parallelize(segments, 3)));
        assertTrue(
                e.getMessage()
                        .startsWith("--parallel-segments: 3 segments scored at once need 3 task slots at once,"
                                + " but " + cluster.masterUrl()
                                + " offered 2 after Spark checked 1 more times, 1s apart"),
                e.getMessage());
    }

    /** 2 layers (layer 1 attention), d_model 16, GatedMLP, vocabulary 129 (associative-recall's) padded to 136. */
    static MambaConfig tinyModel() {
        return TinyModels.trainingHybrid();
    }

    /** 5 float64 steps of 4 windows of 32 tokens, one window per micro-batch, over 4 partitions. */
    private static TrainConfig run(String out) {
        TrainConfig c = new TrainConfig();
        c.modelConfig = modelFile.toString();
        c.data = "synthetic:associative-recall?documents=120";
        c.seqLen = 32;
        c.globalBatch = 4;
        c.microBatch = 1;
        c.steps = STEPS;
        c.lr = 1e-2;
        c.warmup = 1;
        c.seed = 7L;
        c.dtype = "float64";
        c.partitions = PARTITIONS;
        c.validationFraction = 0.1;
        c.evalWindows = 4;
        c.out = dir.resolve(out).toString();
        return c;
    }

    private static Trainer.Result trainInLocalMode() throws IOException {
        SparkSession localSpark = SparkSessions.builder("cluster-test-local")
                .master("local[2]")
                .forTests()
                .build();
        try {
            return new Trainer(localSpark).train(run("local"));
        } finally {
            localSpark.stop();
        }
    }

    @Test
    void trainingOnTwoExecutorJvmsGivesTheParametersOfLocalMode() throws Exception {
        TaskPlacement placement = new TaskPlacement();
        spark.sparkContext().addSparkListener(placement);
        try {

            Trainer.Result remote = new Trainer(spark).train(run("cluster"));

            // The training and validation passes ran on both executor JVMs, none in this one.
            int expectedTasks = (STEPS + 1) * PARTITIONS; // a training pass per step, one validation pass at the end
            cluster.await(
                    "the listener to see " + expectedTasks + " pass tasks",
                    () -> placement.passTasks() >= expectedTasks);
            Map<String, Integer> perExecutor = placement.passTasksPerExecutor();
            assertEquals(EXECUTORS, perExecutor.size(), "pass tasks per executor: " + perExecutor);
            assertFalse(perExecutor.containsKey("driver"), "pass tasks per executor: " + perExecutor);
            assertEquals(
                    expectedTasks,
                    perExecutor.values().stream().mapToInt(Integer::intValue).sum());
            List<List<ProcessHandle>> executors = cluster.executorProcesses();
            assertEquals(EXECUTORS, executors.size());
            Set<Long> pids = new TreeSet<>();
            for (List<ProcessHandle> perWorker : executors) {
                assertEquals(1, perWorker.size(), "executor JVMs per worker: " + executors + "\n" + cluster.logTails());
                pids.add(perWorker.get(0).pid());
            }
            assertEquals(EXECUTORS, pids.size());
            assertFalse(pids.contains(ProcessHandle.current().pid()));

            // ... and gave the numbers of local mode.
            double difference = maxRelativeDifference(local.parameters(), remote.parameters());
            System.out.printf(
                    "standalone cluster, executor JVMs %s, pass tasks per executor %s: max relative difference"
                            + " to local mode %s%n",
                    pids, perExecutor, difference);
            assertTrue(difference <= 1e-12, "max relative difference to local mode: " + difference);
            assertEquals(local.validationLoss(), remote.validationLoss(), 1e-12 * local.validationLoss());
            INDArray init = ModelInit.initialize(tinyModel(), 7L, DataType.DOUBLE);
            assertTrue(maxRelativeDifference(init, remote.parameters()) > 1e-3, "training moved the parameters");
            assertEquals(DataType.DOUBLE, remote.parameters().dataType());
        } finally {
            spark.sparkContext().removeSparkListener(placement);
        }
    }

    /**
     * Sequence-parallel training with each window cut in two, one part per executor JVM, its states, halos and their
     * gradients crossing through the driver's exchange, gives the parameters of whole windows in local mode.
     */
    @Test
    void sequenceParallelTrainingAcrossTwoExecutorJvmsGivesTheParametersOfLocalMode() throws Exception {
        TrainConfig c = run("cluster-sequence-parallel");
        c.partitions = 1;
        c.sequenceParallel = 2;
        Trainer.Result remote = new Trainer(spark).train(c);
        double difference = maxRelativeDifference(local.parameters(), remote.parameters());
        System.out.printf(
                "standalone cluster, --sequence-parallel 2: max relative difference to local mode %s%n", difference);
        assertTrue(difference <= 1e-10, "max relative difference to local mode: " + difference);
        assertEquals(local.validationLoss(), remote.validationLoss(), 1e-10 * local.validationLoss());
    }

    /**
     * The sharded reduce on two executor JVMs: parameter and gradient shards cross between them through Spark's
     * shuffle, the optimizer shards stay cached there (two replicas), and the run gives the parameters of the
     * driver fold on the same cluster bit for bit, and those of local mode.
     */
    @Test
    void shardedReduceAcrossTwoExecutorJvmsGivesTheDriverFoldsBits() throws Exception {
        TrainConfig sharded = run("cluster-sharded");
        sharded.reduce = "sharded";
        sharded.reduceShards = 3;
        Trainer.Result remote = new Trainer(spark).train(sharded);
        TrainConfig driver = run("cluster-driver");
        driver.reduce = "driver";
        Trainer.Result folded = new Trainer(spark).train(driver);
        org.junit.jupiter.api.Assertions.assertArrayEquals(
                folded.parameters().toDoubleVector(), remote.parameters().toDoubleVector(), 0.0);
        double difference = maxRelativeDifference(local.parameters(), remote.parameters());
        System.out.printf(
                "standalone cluster, --reduce sharded --reduce-shards 3: bitwise equal to the driver fold; max"
                        + " relative difference to local mode %s%n",
                difference);
        assertTrue(difference <= 1e-12, "max relative difference to local mode: " + difference);
        assertEquals(local.validationLoss(), remote.validationLoss(), 1e-12 * local.validationLoss());
    }

    /**
     * Sequence-parallel scoring with its segments' exchanges crossing between the two executor JVMs (through the
     * driver's exchange service) gives the NLLs of one process scoring the sequence whole.
     */
    @Test
    void scoringAcrossTwoExecutorJvmsEqualsTheWholeSequence() throws Exception {
        MambaConfig c = tinyModel();
        INDArray params = ModelInit.initialize(c, 7L, DataType.DOUBLE);
        int[] tokens = new java.util.Random(5).ints(203, 0, c.vocabSize()).toArray();
        double[] expect = new double[tokens.length - 1];
        SequenceScorer.score(
                new HybridLm(c, params),
                new SequenceScorer.TokenSource() {
                    @Override
                    public long length() {
                        return tokens.length;
                    }

                    @Override
                    public int[] read(long start, int count) {
                        return java.util.Arrays.copyOfRange(tokens, (int) start, (int) start + count);
                    }
                },
                1 << 16,
                (position, nll) -> expect[(int) position - 1] = nll);
        List<Segment> segments = new ArrayList<>();
        for (int i = 0, start = 0; start < tokens.length; i++, start += 41) {
            int end = Math.min(tokens.length, start + 41);
            segments.add(
                    new Segment("seq", i, 5, start, tokens.length, java.util.Arrays.copyOfRange(tokens, start, end)));
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SequenceParallelScorer.Result r = new SequenceParallelScorer(
                        jsc, ModelBlob.of(c, params), StorageLevel.MEMORY_ONLY(), 0, false, EXECUTORS)
                .progressIn(dir.resolve("score-progress").toString(), false, 0) // the executors share this disk
                .score(jsc.parallelize(segments, EXECUTORS));
        double[] got = new double[tokens.length - 1];
        for (ScoredSegment s : r.scored().collect()) {
            System.arraycopy(s.nll, 0, got, (int) s.start, s.nll.length);
        }
        r.release();
        double diff = 0;
        for (int i = 0; i < got.length; i++) {
            diff = Math.max(diff, Math.abs(got[i] - expect[i]));
        }
        System.out.printf("standalone cluster scoring, 5 segments on %d tasks: max |dNLL| %s%n", r.width(), diff);
        assertEquals(EXECUTORS, r.width());
        assertTrue(diff <= 1e-10, "max |dNLL| to one process: " + diff);
    }

    /** max_i |a_i - b_i| / max_i |a_i|. */
    private static double maxRelativeDifference(INDArray expected, INDArray actual) {
        INDArray a = expected.castTo(DataType.DOUBLE);
        return a.sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue()
                / a.amaxNumber().doubleValue();
    }

    /** Counts the successful tasks of the training and validation passes (DistributedPass's jobs) per executor. */
    private static final class TaskPlacement extends SparkListener {
        private final Map<Integer, Boolean> passStages = new ConcurrentHashMap<>();
        private final Map<String, Integer> perExecutor = new ConcurrentHashMap<>();

        @Override
        public void onStageSubmitted(SparkListenerStageSubmitted event) {
            passStages.put(event.stageInfo().stageId(), event.stageInfo().name().contains("DistributedPass"));
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd event) {
            if (event.taskInfo().successful() && passStages.getOrDefault(event.stageId(), false)) {
                perExecutor.merge(event.taskInfo().executorId(), 1, Integer::sum);
            }
        }

        int passTasks() {
            return perExecutor.values().stream().mapToInt(Integer::intValue).sum();
        }

        Map<String, Integer> passTasksPerExecutor() {
            return new TreeMap<>(perExecutor);
        }
    }
}
