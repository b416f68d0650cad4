package io.ssmspark.jobs.score;

import io.ssmspark.data.HadoopConf;
import io.ssmspark.data.Segment;
import io.ssmspark.jobs.exchange.ExchangeClient;
import io.ssmspark.jobs.exchange.ExchangeHub;
import io.ssmspark.jobs.spark.ExecutorModels;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.Progress;
import io.ssmspark.jobs.spark.SparkCleanup;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.lm.HybridLm;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import scala.collection.Iterator;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Scores long sequences cut into segments on different executors, with the result of one process scoring each
 * sequence whole (DESIGN.md, "State passing across segments").
 *
 * <p>The segments, numbered in sequence order, go round-robin to {@code width} tasks of one Spark barrier stage
 * (all tasks run at once; {@link SegmentWaves}). The tasks score their segments in waves of {@code width}
 * consecutive segments, and inside a wave layer by layer: per Mamba2 layer two rounds through the driver's exchange
 * hub (the last K−1 pre-conv rows, then the summaries (α, E) for the exclusive scan), per attention layer one (the
 * last keys and values); {@link WaveTask}. The driver folds each round ({@link WaveFold}) and sends every task only
 * its own halo and initial state, so it sends W messages per round, not W². The streams and the mixers' zero-state parts stay in their task's memory: a task holds one
 * segment's stream and one layer's working set at a time, whatever the sequence length, and per Mamba2 layer and
 * segment only (K−1)·conv_dim + H + H·P·N values cross the network.
 *
 * <p>The stage hands its scored segments on through a shuffle (Spark retries a failed barrier stage, all its
 * tasks, only when it is a map stage); they are persisted with the given storage level after it, and
 * {@link Result#release()} drops them.
 * Barrier stages need {@code width} free task slots at once (and no dynamic allocation): the width defaults to
 * Spark's default parallelism, the slots of local mode and of a standalone cluster.
 */
public final class SequenceParallelScorer {
    private static final Logger LOG = LoggerFactory.getLogger(SequenceParallelScorer.class);

    /**
     * What a scoring run leaves: the scored segments (read back from the committed files, persisted), per-sequence
     * summaries, the bytes exchanged per layer and per task, each task's seconds spent waiting in the exchanges, the
     * number of tasks, and the wave each stage attempt of this run started from.
     */
    public record Result(
            JavaRDD<ScoredSegment> scored,
            List<SequenceSummary> summaries,
            List<ExchangeStats> exchanges,
            TaskBytes[] taskBytes,
            double[] exchangeWaitSeconds,
            SegmentLayout layout,
            int width,
            List<Integer> attemptStarts,
            ExchangeHub hub,
            List<Broadcast<?>> broadcasts,
            CommitLog progress,
            boolean temporaryProgress) {

        /**
         * One line for the user: the value bytes that went up to the driver's exchange and came down, the most one
         * task sent and received in one round, and the mean seconds a task waited in it.
         */
        public String exchangeLine() {
            long up = 0;
            long down = 0;
            long maxUp = 0;
            long maxDown = 0;
            for (ExchangeStats e : exchanges) {
                up += e.bytesUp();
                down += e.bytesDown();
                maxUp = Math.max(maxUp, e.maxTaskRoundBytesUp());
                maxDown = Math.max(maxDown, e.maxTaskRoundBytesDown());
            }
            double wait = 0;
            for (double w : exchangeWaitSeconds) {
                wait += w / exchangeWaitSeconds.length;
            }
            return String.format(
                    java.util.Locale.ROOT,
                    "exchange through the driver: %,d bytes up, %,d down; per task and round at most %,d up, %,d"
                            + " down; %d tasks waited %.1f s each on average",
                    up,
                    down,
                    maxUp,
                    maxDown,
                    width,
                    wait);
        }

        /**
         * Drops the persisted scores, stops the exchange and destroys the model and layout broadcasts; removes the
         * progress directory when the scorer made it itself. Call it in a finally once the scores are written.
         */
        public void release() {
            try {
                SparkCleanup.unpersist(scored);
                hub.close();
            } finally {
                broadcasts.forEach(SparkCleanup::destroy);
                if (temporaryProgress) {
                    progress.delete();
                }
            }
        }

        /** Removes the progress directory: the committed files and records (once the output is written). */
        public void discardProgress() {
            progress.delete();
        }
    }

    private final JavaSparkContext jsc;
    private final ModelBlob blob;
    private final StorageLevel storage;
    private final int topK;
    private final boolean withEmbeddings;
    private final int width;
    private String progressDir;
    private boolean resume;
    private int commitEvery;
    private int failWave = -1;
    private int failTask = -1;
    private Consumer<String> progressOut = LOG::info;
    private long progressNanos = -1;

    /**
     * @param storage storage level of the scored segments
     * @param topK number of top predicted ids per position (0: none)
     * @param withEmbeddings keep the last hidden state of every position
     * @param width tasks scoring at once (0: Spark's default parallelism)
     */
    public SequenceParallelScorer(
            JavaSparkContext jsc, ModelBlob blob, StorageLevel storage, int topK, boolean withEmbeddings, int width) {
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k: expected 0 or more but found " + topK);
        }
        if (width < 0) {
            throw new IllegalArgumentException(
                    "--parallel-segments: expected 0 (Spark's default parallelism) or more" + " but found " + width);
        }
        this.jsc = jsc;
        this.blob = blob;
        this.storage = storage;
        this.topK = topK;
        this.withEmbeddings = withEmbeddings;
        this.width = width;
    }

    /**
     * Keeps the run's durable progress in {@code dir} (a Hadoop path every executor can write, such as
     * OUTPUT/_scoring): the scored segments, committed every {@code commitEvery} waves (0: so that a run makes at
     * most {@value #AUTO_COMMITS} commits), with the carries that let a retried stage attempt, or a run resumed
     * with {@code resume}, start after the last commit ({@link CommitLog}). Without it, a temporary directory is
     * used in local mode (a cluster needs one).
     */
    public SequenceParallelScorer progressIn(String dir, boolean resume, int commitEvery) {
        if (commitEvery < 0) {
            throw new IllegalArgumentException(
                    "--commit-every: expected 0 (automatic) or more waves but found " + commitEvery);
        }
        this.progressDir = dir;
        this.resume = resume;
        this.commitEvery = commitEvery;
        return this;
    }

    /** At most this many commits a run, when the commit interval is automatic. */
    static final int AUTO_COMMITS = 100;

    /** Test hook: the first attempt of task {@code task} fails as wave {@code wave} starts (a retried stage must not). */
    SequenceParallelScorer failFirstAttempt(int wave, int task) {
        this.failWave = wave;
        this.failTask = task;
        return this;
    }

    /** Test hook: progress lines go to {@code out}, one every {@code intervalNanos}. */
    SequenceParallelScorer progressTo(Consumer<String> out, long intervalNanos) {
        this.progressOut = out;
        this.progressNanos = intervalNanos;
        return this;
    }

    /**
     * A barrier stage needs all its tasks running at once. In local mode the slots are known up front, so too many
     * tasks are refused at once with the numbers (Spark itself would retry the stage check 40 times, 15 s apart);
     * on a cluster too where the application's settings bound its slots ({@link ApplicationSlots}). Otherwise
     * executors may still be arriving, so Spark's own check waits for them
     * ({@code spark.scheduler.barrier.maxConcurrentTasksCheck.*}, bounded by {@link SparkSessions}), and giving up
     * is reported by {@link #tooFewSlots}.
     */
    private void requireSlots(int tasks) {
        if (!jsc.sc().isLocal()) {
            ApplicationSlots.require(tasks, jsc.getConf()); // where the settings bound the slots
            return;
        }
        int slots =
                jsc.sc().maxNumConcurrentTasks(jsc.sc().resourceProfileManager().defaultResourceProfile());
        if (tasks > slots) {
            throw new IllegalArgumentException("--parallel-segments: " + tasks + " segments scored at once need "
                    + tasks
                    + " task slots, but " + jsc.master() + " has " + slots + "; use --parallel-segments " + slots
                    + " or fewer, or a master with more slots");
        }
    }

    /** The tag of the error Spark gives up with when a barrier stage never finds enough free task slots. */
    private static final String BARRIER_SLOTS_CHECK = "SPARK-24819";

    /**
     * On a cluster Spark retried its slot check for a bounded time (SparkSessions bounds it to about two minutes
     * unless the user set spark.scheduler.barrier.maxConcurrentTasksCheck.*) and gave up: say so with the numbers.
     */
    private IllegalArgumentException tooFewSlots(int tasks, Exception cause) {
        int slots =
                jsc.sc().maxNumConcurrentTasks(jsc.sc().resourceProfileManager().defaultResourceProfile());
        String failures = jsc.getConf().get(SparkSessions.BARRIER_CHECK_FAILURES, "40");
        String interval = jsc.getConf().get("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "15s");
        return new IllegalArgumentException(
                "--parallel-segments: " + tasks + " segments scored at once need " + tasks
                        + " task slots at once, but " + jsc.master() + " offered " + slots + " after Spark checked "
                        + failures
                        + " more times, " + interval + " apart (" + SparkSessions.BARRIER_CHECK_FAILURES + "); use"
                        + " --parallel-segments " + Math.max(1, slots)
                        + " or fewer, or give the application more executor cores",
                cause);
    }

    /**
     * Scores the segments; logs a progress line every {@value Progress#INTERVAL_PROPERTY} seconds (default 10) while
     * the scoring stage runs, and one when it is done ({@link ScoreProgress}).
     */
    public Result score(JavaRDD<Segment> segments) {
        List<SegmentMeta> metas = segments.map(SegmentMeta::of).collect();
        if (metas.isEmpty()) {
            throw new IllegalArgumentException("input: holds no tokens to score");
        }
        SegmentLayout layout = SegmentLayout.of(metas);
        Broadcast<ModelBlob> model = jsc.broadcast(blob);
        Broadcast<SegmentLayout> where = jsc.broadcast(layout);
        try {
            return run(segments, layout, model, where);
        } catch (RuntimeException | Error e) {
            SparkCleanup.destroy(model);
            SparkCleanup.destroy(where);
            throw e;
        }
    }

    private Result run(
            JavaRDD<Segment> segments,
            SegmentLayout layout,
            Broadcast<ModelBlob> model,
            Broadcast<SegmentLayout> where) {
        long interval = progressNanos > 0
                ? progressNanos
                : Progress.intervalNanos(jsc.getConf().get(Progress.INTERVAL_PROPERTY, null));
        HybridLm lm = ExecutorModels.of(model);
        int vocab = lm.config().vocabSize(); // the padding rows of the embedding are no ids a model can predict
        if (topK > vocab) {
            throw new IllegalArgumentException(
                    "--top-k: expected at most the model's vocab_size " + vocab + " but found " + topK);
        }
        int tasks = Math.min(layout.segmentCount(), width > 0 ? width : Math.max(1, jsc.defaultParallelism()));
        requireSlots(tasks);
        SegmentWaves waves = new SegmentWaves(tasks, layout.segmentCount());
        int every = commitEvery > 0 ? commitEvery : Math.max(1, (waves.waves() + AUTO_COMMITS - 1) / AUTO_COMMITS);
        RoundSchedule schedule = new RoundSchedule(waves, WaveTask.roundsPerLayer(lm), every);
        boolean temporary = progressDir == null;
        CommitLog log = CommitLog.open(
                progressFileSystem(temporary),
                temporary ? temporaryDir() : new Path(progressDir),
                RunIdentity.of(blob, layout, tasks, every, topK, withEmbeddings),
                lm.config().nLayer(),
                resume);
        int resumedAt = log.nextWave();
        if (resumedAt > 0) {
            LOG.info(
                    "resuming from {}: waves 0 to {} of {} are committed ({} commits)",
                    log.dir(),
                    resumedAt - 1,
                    waves.waves(),
                    log.commits());
        }
        List<WaveFold> folds = java.util.Collections.synchronizedList(new ArrayList<>());
        ExchangeHub hub = ExchangeHub.startFolding(jsc.getConf(), tasks, () -> {
            WaveFold f = new WaveFold(lm, layout, schedule, log);
            folds.add(f);
            return f;
        });

        JavaRDD<Segment> byTask = segments.mapToPair(
                        seg -> new Tuple2<>(where.value().ordinal(seg.sequenceId, seg.segmentIndex), seg))
                .repartitionAndSortWithinPartitions(waves) // each task's segments in ordinal order, streamed
                .values();
        // The barrier stage ends in a shuffle: Spark retries a failed barrier stage only when it is a map stage.
        JavaRDD<WaveOutput> outputs = byTask.rdd()
                .barrier()
                .mapPartitions(
                        new Tasks(
                                model,
                                where,
                                schedule,
                                hub.address(),
                                new HadoopConf(jsc.hadoopConfiguration()),
                                log.dir().toString(),
                                topK,
                                withEmbeddings,
                                failWave,
                                failTask),
                        false,
                        ClassTag$.MODULE$.apply(WaveOutput.class))
                .toJavaRDD()
                .mapToPair(o -> new Tuple2<>(o.task, o))
                .partitionBy(waves)
                .values();
        Supplier<ScoreProgress.Position> position = () -> {
            ExchangeHub.Rounds r = hub.rounds();
            WaveFold f = folds.isEmpty() ? null : folds.get(folds.size() - 1);
            return new ScoreProgress.Position(
                    r.attempt(), f == null ? resumedAt : f.start(), r.completed(), r.waitShare(), log.nextWave());
        };
        List<WaveOutput> figures;
        try (ScoreProgress progress = new ScoreProgress(
                        layout, schedule, lm.config().nLayer(), resumedAt, position, progressOut)
                .start(interval)) {
            figures = outputs.collect();
            progress.finish();
        } catch (Exception e) { // the stage failed (SparkException is checked but undeclared)
            Throwable first = hub.firstFailure();
            hub.close();
            if (temporary) {
                log.delete();
            }
            // Spark names whichever task's failure it saw first, often another task's lost exchange, and for a barrier
            // stage as text only: the task that broke the stage said why, and that is what the caller gets.
            if (first instanceof RuntimeException r) {
                throw r;
            }
            if (first instanceof Error r) {
                throw r;
            }
            if (String.valueOf(e.getMessage()).contains(BARRIER_SLOTS_CHECK)) {
                throw tooFewSlots(tasks, e);
            }
            throw e;
        }

        double[] waits = new double[tasks];
        TaskBytes[] taskBytes = new TaskBytes[tasks];
        for (WaveOutput o : figures) {
            waits[o.task] = o.exchangeNanos / 1e9;
            taskBytes[o.task] = o.bytes; // each task counts what it sent and received
        }
        List<ExchangeStats> exchanges = new ArrayList<>();
        for (int layer = 0; layer < lm.config().nLayer(); layer++) {
            long up = 0;
            long down = 0;
            long maxUp = 0;
            long maxDown = 0;
            for (TaskBytes t : taskBytes) {
                up += t.up[layer];
                down += t.down[layer];
                maxUp = Math.max(maxUp, t.maxRoundUp[layer]);
                maxDown = Math.max(maxDown, t.maxRoundDown[layer]);
            }
            exchanges.add(new ExchangeStats(layer, kind(lm, layer), up, down, maxUp, maxDown));
        }
        List<Integer> starts = new ArrayList<>();
        synchronized (folds) {
            folds.forEach(f -> starts.add(f.start()));
        }
        List<long[]> briefs = log.briefs();
        if (briefs.size() != layout.segmentCount()) {
            throw new IllegalStateException("score progress: " + log.dir() + " has " + briefs.size()
                    + " committed segments, not the run's " + layout.segmentCount());
        }
        return new Result(
                committedScores(log),
                summaries(layout, briefs),
                exchanges,
                taskBytes,
                waits,
                layout,
                tasks,
                List.copyOf(starts),
                hub,
                List.of(model, where),
                log,
                temporary);
    }

    /** Every committed file's scored segments, read on the executors, persisted at the storage level. */
    private JavaRDD<ScoredSegment> committedScores(CommitLog log) {
        List<ScoredParts.Part> parts = log.parts();
        HadoopConf conf = new HadoopConf(jsc.hadoopConfiguration());
        String dir = log.dir().toString();
        int slices = Math.max(1, Math.min(parts.size(), jsc.defaultParallelism() * 4));
        return jsc.parallelize(parts.isEmpty() ? List.of() : parts, slices)
                .flatMap(p -> {
                    Path root = new Path(dir);
                    return ScoredParts.read(root.getFileSystem(conf.get()), new Path(root, p.file()), p.length())
                            .iterator();
                })
                .persist(storage);
    }

    private FileSystem progressFileSystem(boolean temporary) {
        try {
            return temporary
                    ? FileSystem.getLocal(jsc.hadoopConfiguration())
                    : new Path(progressDir).getFileSystem(jsc.hadoopConfiguration());
        } catch (IOException e) {
            throw new UncheckedIOException("score progress: cannot reach " + progressDir + ": " + e.getMessage(), e);
        }
    }

    /** A fresh local directory for a run's progress; on a cluster the executors could not share it. */
    private Path temporaryDir() {
        if (!jsc.sc().isLocal()) {
            throw new IllegalArgumentException("scoring on " + jsc.master() + " needs a progress directory every"
                    + " executor can write (SequenceParallelScorer.progressIn; score keeps it in OUTPUT/_scoring)");
        }
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("ssm-score-");
            java.nio.file.Files.delete(dir); // the log creates it, with its manifest
            return new Path(dir.toUri());
        } catch (IOException e) {
            throw new UncheckedIOException("score progress: cannot make a temporary directory: " + e.getMessage(), e);
        }
    }

    private static String kind(HybridLm lm, int layer) {
        return lm.mixer(layer).kind();
    }

    /** Each barrier task's work: a {@link WaveTask} over its partition's segments. */
    private static final class Tasks extends AbstractFunction1<Iterator<Segment>, Iterator<WaveOutput>>
            implements Serializable {
        private static final long serialVersionUID = 2L;
        private final Broadcast<ModelBlob> model;
        private final Broadcast<SegmentLayout> layout;
        private final RoundSchedule schedule;
        private final ExchangeHub.Address hub;
        private final HadoopConf conf;
        private final String progressDir;
        private final int topK;
        private final boolean withEmbeddings;
        private final int failWave;
        private final int failTask;

        Tasks(
                Broadcast<ModelBlob> model,
                Broadcast<SegmentLayout> layout,
                RoundSchedule schedule,
                ExchangeHub.Address hub,
                HadoopConf conf,
                String progressDir,
                int topK,
                boolean withEmbeddings,
                int failWave,
                int failTask) {
            this.model = model;
            this.layout = layout;
            this.schedule = schedule;
            this.hub = hub;
            this.conf = conf;
            this.progressDir = progressDir;
            this.topK = topK;
            this.withEmbeddings = withEmbeddings;
            this.failWave = failWave;
            this.failTask = failTask;
        }

        @Override
        public Iterator<WaveOutput> apply(Iterator<Segment> segments) {
            BarrierTaskContext context = BarrierTaskContext.get();
            int attempt = context.stageAttemptNumber();
            int partition = context.partitionId();
            ExchangeClient exchange = new ExchangeClient(hub, attempt, partition, context::isInterrupted);
            context.addTaskCompletionListener((TaskCompletionListener) c -> exchange.close());
            Path dir = new Path(progressDir);
            FileSystem fs;
            try {
                fs = dir.getFileSystem(conf.get());
            } catch (IOException e) {
                throw new UncheckedIOException("score progress: cannot reach " + dir + ": " + e.getMessage(), e);
            }
            WaveTask task = new WaveTask(
                    ExecutorModels.forTask(model),
                    layout.value(),
                    schedule,
                    partition,
                    JavaConverters.asJavaIterator(segments),
                    exchange,
                    group -> new ScoredParts.Writer(fs, dir, group, partition, attempt),
                    topK,
                    withEmbeddings,
                    attempt == 0 && partition == failTask ? failWave : -1);
            return JavaConverters.asScalaIterator(task);
        }
    }

    private static List<SequenceSummary> summaries(SegmentLayout layout, List<long[]> totals) {
        long[] positions = new long[layout.sequenceCount()];
        double[][] sums = new double[layout.sequenceCount()][];
        for (int s = 0; s < layout.sequenceCount(); s++) {
            sums[s] = new double[layout.firstOrdinal[s + 1] - layout.firstOrdinal[s]];
        }
        for (long[] t : totals) {
            int g = (int) t[0];
            int s = layout.sequenceOf(g);
            positions[s] += t[1];
            sums[s][g - layout.firstOrdinal[s]] = Double.longBitsToDouble(t[2]);
        }
        List<SequenceSummary> out = new ArrayList<>();
        for (int s = 0; s < layout.sequenceCount(); s++) {
            double total = 0;
            for (double v : sums[s]) { // in segment order
                total += v;
            }
            out.add(new SequenceSummary(layout.sequenceIds[s], layout.sequenceLengths[s], positions[s], total));
        }
        return out;
    }
}
