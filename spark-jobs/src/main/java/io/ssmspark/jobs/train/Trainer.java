package io.ssmspark.jobs.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.data.FragmentKey;
import io.ssmspark.data.GroupPartitioner;
import io.ssmspark.data.InputFormat;
import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.SourceData;
import io.ssmspark.data.Sources;
import io.ssmspark.data.TrainingWindows;
import io.ssmspark.data.Window;
import io.ssmspark.data.WindowOptions;
import io.ssmspark.jobs.spark.Interruption;
import io.ssmspark.jobs.spark.Progress;
import io.ssmspark.jobs.spark.SparkCleanup;
import io.ssmspark.jobs.spark.ThreadBudget;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.optim.AdamW;
import io.ssmspark.model.optim.AdamWSettings;
import io.ssmspark.model.optim.LearningRateSchedule;
import io.ssmspark.model.optim.Optimizer;
import io.ssmspark.model.optim.StepReport;
import io.ssmspark.model.tensor.MemoryLimits;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Data-parallel training on Spark (DESIGN.md, "Data-parallel training"). Each step every task sums the NLL and the
 * gradient of its share of the step's windows under the current parameters; the sums are added in a fixed order
 * over partition indices, divided by the global token count, clipped, and AdamW applied once: on the driver
 * ({@link DriverState}) or in shards on the executors ({@link ShardedState}, --reduce). The numbers do not depend
 * on the number of partitions, nor on the path.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String SUMMARY_FILE = "summary.json";
    static final String FINAL_DIR = "final";
    static final String CHECKPOINTS_DIR = "checkpoints";
    /** The Spark job group of a training step's jobs (validation passes and checkpoints are not in it). */
    public static final String STEP_JOB_GROUP = "ssm-spark-train-step";

    /**
     * What a finished run produced. The validation answer accuracy is empty when the data has no answer positions
     * (only some synthetic tasks have them).
     */
    public record Result(
            MambaConfig model,
            INDArray parameters,
            long steps,
            double trainLoss,
            double validationLoss,
            OptionalDouble validationAnswerAccuracy,
            long trainWindows,
            long validationWindows,
            String finalCheckpoint) {}

    /** One evaluation: the mean validation NLL, and the answer counts (0 answers when the data has none). */
    private record Evaluation(double loss, AnswerAccuracy.Count answers) {
        static final Evaluation NONE = new Evaluation(Double.NaN, new AnswerAccuracy.Count(0, 0));

        OptionalDouble answerAccuracy() {
            return answers.answers() == 0 ? OptionalDouble.empty() : OptionalDouble.of(answers.accuracy());
        }
    }

    private final SparkSession spark;
    private final JavaSparkContext sc;
    private final RunFiles files;

    public Trainer(SparkSession spark) {
        this.spark = spark;
        this.sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.files = new RunFiles(spark.sparkContext().hadoopConfiguration());
    }

    /**
     * Trains with {@code given} (a job config file overlaid by command-line options; unset fields take the defaults,
     * or with {@code resume} the resumed run's values, which the given options may not contradict).
     */
    public Result train(TrainConfig given) throws IOException {
        TrainingCheckpoint resumed = null;
        TrainConfig config;
        if (given.resume != null) {
            resumed = TrainingCheckpoint.load(files, given.resume);
            TrainConfig.requireSameMath(resumed.run(), given, given.resume);
            config = resumed.run().overlay(given);
        } else {
            config = given.withDefaults();
        }
        config.validate();
        if (resumed != null && resumed.step() >= config.steps) {
            throw new IllegalArgumentException("--resume " + given.resume + ": the checkpoint has already done "
                    + resumed.step() + " steps; --steps " + config.steps + " leaves nothing to do");
        }
        MambaConfig model = resumed != null
                ? resumed.config()
                : MambaConfig.fromJson(files.readString(config.modelConfig), config.modelConfig);
        if (resumed == null) { // a resumed model was checked before its tensors were read
            TrainingMemory.of(config.dataType()).require(model, config.modelConfig, MemoryLimits.ofThisJvm());
        }
        ShardedReduceChoice.requireFits(config, CheckpointSchema.of(model).totalParameters());
        RunDirectory.prepare(files, config);
        return new Run(config, model, resumed).execute();
    }

    /** One run: its data, model, optimizer and outputs. */
    private final class Run {
        private final TrainConfig config;
        private final MambaConfig model;
        private final DataType dtype;
        private final String configJson;
        private final TrainingState state;
        private final long startStep;
        private final MetricsLog metrics;
        private final List<String> checkpoints = new ArrayList<>();
        private SourceData data;
        private WindowOptions windowOptions;
        private WindowSchedule schedule;
        private JavaRDD<Window> train;
        private long trainEpoch = -1;
        private JavaRDD<Window> validation;
        private long evalWindows;
        private long trainWindows;
        private long validationWindows;
        /** The tokenizer.json the run encodes text with (null: a token per byte), copied into each checkpoint. */
        private byte[] tokenizerJson;

        Run(TrainConfig config, MambaConfig model, TrainingCheckpoint resumed) throws IOException {
            this.config = config;
            this.model = model;
            this.dtype = config.dataType();
            this.configJson = model.toJson();
            INDArray parameters =
                    resumed != null ? resumed.parameters() : ModelInit.initialize(model, config.seed, dtype);
            AdamWSettings settings = AdamWSettings.defaults().withWeightDecay(config.weightDecay);
            LearningRateSchedule schedule =
                    new LearningRateSchedule(config.lr, config.minLr, config.warmup, config.steps);
            FaultInjection faults =
                    config.injectTaskFailure == null ? null : FaultInjection.parse(config.injectTaskFailure);
            if (ShardedReduceChoice.sharded(config, parameters.length())) {
                this.state = new ShardedState(
                        sc,
                        configJson,
                        parameters,
                        resumed != null ? resumed.optimizer() : null,
                        ShardedReduceChoice.shards(config, parameters.length()),
                        settings,
                        schedule,
                        config,
                        faults);
                parameters.close(); // the executors hold them now
            } else {
                AdamW adamw = new AdamW(CheckpointSchema.of(model), dtype, settings);
                if (resumed != null) {
                    adamw.restore(resumed.optimizer());
                }
                this.state = new DriverState(
                        sc, configJson, parameters, new Optimizer(adamw, schedule, config.maxGradNorm), config, faults);
            }
            this.startStep = resumed != null ? resumed.step() : 0;
            this.metrics = new MetricsLog(files, config.out);
            if (resumed != null) {
                metrics.keepEarlierRecords(startStep);
            }
        }

        Result execute() throws IOException {
            ThreadBudget.apply(sc.master());
            ThreadBudget.TaskThreads threads = ThreadBudget.forTasks(
                    sc.sc(),
                    DistributedPass.microBatchesPerTask(
                            config.globalBatch / config.gradAccum, config.microBatch, config.partitions));
            if (config.sequenceParallel > 1) {
                SequenceParallelPass.requireSlots(sc, config.partitions, config.sequenceParallel);
            }
            openData();
            LOG.info(
                    "training {} parameters ({}), {} train windows / {} validation windows of {} tokens, global batch {}"
                            + " x grad-accum {} in micro-batches of {}, {} partitions{}, {}, micro-batches at once per task {}, ND4J threads each {},"
                            + " steps {}..{}",
                    state.parameterCount(),
                    config.dtype,
                    trainWindows,
                    validationWindows,
                    config.seqLen,
                    config.globalBatch,
                    config.gradAccum,
                    config.microBatch,
                    config.partitions,
                    config.sequenceParallel == 1
                            ? ""
                            : " x " + config.sequenceParallel + " sequence-parallel parts ("
                                    + config.partitions * config.sequenceParallel + " barrier tasks)",
                    state.describe(),
                    threads.concurrent(),
                    threads.setOps() ? threads.opThreads() : "(the executors' OMP_NUM_THREADS)",
                    startStep + 1,
                    config.steps);
            Interruption.leaves(
                    startStep > 0
                            ? config.out + " keeps the run up to step " + startStep + "; continue with --resume "
                                    + config.resume
                            : "no checkpoint was written to " + config.out);
            long runStart = System.nanoTime();
            double lastTrainLoss = Double.NaN;
            Evaluation lastEvaluation = Evaluation.NONE;
            try {
                for (long s = startStep; s < config.steps; s++) {
                    long step = s + 1;
                    lastTrainLoss = trainStep(s, runStart);
                    boolean last = step == config.steps;
                    if ((config.evalEvery > 0 && step % config.evalEvery == 0) || last) {
                        lastEvaluation = evaluate(step);
                    }
                    if (config.checkpointEvery > 0 && step % config.checkpointEvery == 0 && !last) {
                        String checkpoint = RunFiles.child(
                                RunFiles.child(config.out, CHECKPOINTS_DIR),
                                String.format(Locale.ROOT, "step-%08d", step));
                        saveCheckpoint(checkpoint, step);
                        metrics.flush();
                        Interruption.leaves(
                                checkpoint + " is the last checkpoint; continue with --resume " + checkpoint);
                    }
                }
                String finalDir = RunFiles.child(config.out, FINAL_DIR);
                saveCheckpoint(finalDir, config.steps);
                Interruption.leaves(finalDir + " holds the trained model; the chart or summary may be missing");
                metrics.flush();
                writeChart();
                writeSummary(lastTrainLoss, lastEvaluation, System.nanoTime() - runStart);
                return new Result(
                        model,
                        state.parameters(),
                        config.steps,
                        lastTrainLoss,
                        lastEvaluation.loss(),
                        lastEvaluation.answerAccuracy(),
                        trainWindows,
                        validationWindows,
                        finalDir);
            } finally {
                state.close();
                SparkCleanup.unpersist(train);
                SparkCleanup.unpersist(validation);
            }
        }

        private void openData() throws IOException {
            ReadOptions read = ReadOptions.defaults();
            if (config.inputFormat != null) {
                read = read.withFormat(InputFormat.parse(config.inputFormat));
            }
            if (config.tokenizer != null) {
                if (read.format() != InputFormat.TEXT || config.data.startsWith("synthetic:")) {
                    throw new IllegalArgumentException("--tokenizer: encodes text data, but the data is "
                            + (config.data.startsWith("synthetic:")
                                    ? config.data
                                    : read.format().cliName()));
                }
                io.ssmspark.data.TextTokenizer tok =
                        io.ssmspark.data.TextTokenizer.load(java.nio.file.Path.of(config.tokenizer));
                tok.requireFitsModel(model.vocabSize());
                read = read.withTokenizer(tok);
                tokenizerJson = tok.json();
            }
            data = Sources.read(spark, config.data, read);
            data.vocabulary().requireFitsModel(model.vocabSize());
            windowOptions = WindowOptions.of(config.seqLen)
                    .withValidationFraction(config.validationFraction)
                    .withSeed(config.seed)
                    .withPartitions(config.partitions);
            TrainingWindows first = TrainingWindows.build(data, windowOptions.withEpoch(0));
            trainWindows = first.trainCounts().windows;
            validationWindows = first.validationCounts().windows;
            schedule = new WindowSchedule(trainWindows, config.globalBatch, config.gradAccum);
            if (validationWindows == 0) {
                throw new IllegalArgumentException("--data " + config.data + " with --validation-fraction "
                        + config.validationFraction + " and --seq-len " + config.seqLen
                        + " gives no validation window ("
                        + first.validationCounts() + "): use more data or a larger fraction");
            }
            evalWindows = Math.min(config.evalWindows, validationWindows);
            validation = grouped(first.validation());
        }

        /** The training windows of {@code epoch}, cached on the executors until the epoch changes. */
        private JavaRDD<Window> trainWindowsOf(long epoch) {
            if (epoch != trainEpoch) {
                SparkCleanup.unpersist(train);
                train = grouped(TrainingWindows.build(data, windowOptions.withEpoch(epoch))
                        .train());
                trainEpoch = epoch;
            }
            return train;
        }

        /**
         * The windows placed by micro-batch group (rank / M on partition (rank / M) mod P; one shuffle per epoch) and
         * cached on the executors.
         */
        private JavaRDD<Window> grouped(JavaRDD<Window> windows) {
            int microBatch = config.microBatch;
            // micro-batch group g = rank / M goes whole to partition g mod P, so its composition, hence its gradient,
            // does not depend on P
            return windows.mapToPair(w -> new Tuple2<>(new FragmentKey(w.rank / microBatch, w.rank, w.rank), w))
                    .partitionBy(new GroupPartitioner(config.partitions))
                    .values()
                    .persist(StorageLevel.MEMORY_AND_DISK());
        }

        /** Step s (0-based): one update from the gradient of windows ranked [first, first + B) of its epoch. */
        private double trainStep(long s, long runStart) throws IOException {
            long step = s + 1;
            long stepStart = System.nanoTime();
            JavaRDD<Window> windows = trainWindowsOf(schedule.epochOf(s));
            long[] firstRanks = new long[config.gradAccum];
            for (int round = 0; round < config.gradAccum; round++) {
                firstRanks[round] = schedule.firstRank(s, round);
            }
            long expectedTokens = (long) config.globalBatch * config.seqLen;
            sc.setJobGroup(STEP_JOB_GROUP, "training step " + step + " of " + config.steps, false);
            TrainingState.StepPasses passes =
                    state.gradients(windows, firstRanks, schedule.windowsPerRound(), expectedTokens, (int) step);
            ScalarSum loss = new ScalarSum();
            long tokens = 0;
            long jobNanos = 0;
            long maxTask = 0;
            long meanTask = 0;
            long combineNanos = 0;
            for (int round = 0; round < firstRanks.length; round++) {
                DistributedPass.Outcome o = passes.rounds().get(round);
                if (o.windows() != schedule.windowsPerRound()) {
                    state.discard();
                    throw new IllegalStateException("step " + step + ": expected " + schedule.windowsPerRound()
                            + " training windows with ranks [" + firstRanks[round] + ", "
                            + (firstRanks[round] + schedule.windowsPerRound()) + ") but the tasks found "
                            + o.windows());
                }
                loss.add(o.loss());
                tokens += o.tokens();
                combineNanos += o.combineNanos();
                jobNanos += o.jobNanos();
                maxTask += o.maxTaskNanos();
                meanTask += o.meanTaskNanos();
            }
            long optimizerStart = System.nanoTime();
            double meanLoss = loss.value() / tokens;
            StepReport report = null;
            String problem = null;
            if (!Double.isFinite(meanLoss)) {
                state.discard();
                problem = "the training loss is " + meanLoss;
            } else {
                report = state.update();
                if (!report.applied()) {
                    problem = "the gradient norm is " + report.clip().norm();
                }
            }
            sc.clearJobGroup();
            long now = System.nanoTime();
            ObjectNode record = metrics.newRecord("train", step);
            record.put("epoch", schedule.epochOf(s));
            record.put("loss", meanLoss);
            record.put("lr", report == null ? Double.NaN : report.lr());
            record.put("grad_norm", report == null ? Double.NaN : report.clip().norm());
            record.put("clipped", report != null && report.clip().clipped());
            record.put("tokens", tokens);
            double stepSeconds = (now - stepStart) / 1e9;
            record.put("tokens_per_s", tokens / stepSeconds);
            record.put("step_ms", stepSeconds * 1e3);
            record.put("broadcast_ms", passes.broadcastNanos() / 1e6);
            record.put("job_ms", jobNanos / 1e6);
            record.put("task_compute_max_ms", maxTask / 1e6);
            record.put("task_compute_mean_ms", meanTask / 1e6);
            record.put("aggregate_ms", combineNanos / 1e6);
            record.put("optimizer_ms", (now - optimizerStart) / 1e6);
            record.put("broadcast_bytes", passes.parameterBytes());
            record.put("result_bytes", passes.driverBytes());
            SequenceParallelPass.Exchange exchange = passes.exchange();
            if (exchange != null) { // --sequence-parallel: what crossed between the parts of the windows
                record.put("exchange_bytes_up", exchange.bytesUp());
                record.put("exchange_bytes_down", exchange.bytesDown());
                record.put("exchange_wait_max_ms", exchange.maxWaitNanos() / 1e6);
            }
            TrainingState.Reduce reduce = passes.reduce();
            if (reduce != null) { // --reduce sharded: the gradient shuffle and the reducers
                record.put("reduce_shards", reduce.shards());
                record.put("gradient_shuffle_bytes", reduce.gradientBytes());
                record.put("reduce_max_ms", reduce.maxReducerNanos() / 1e6);
            }
            if (problem != null) {
                record.put("skipped", true);
                metrics.add(record);
                String message = "step " + step + ": " + problem + " (loss " + meanLoss + ")";
                if (!config.skipNonfinite) {
                    metrics.flush();
                    throw new NonFiniteTrainingException(
                            step,
                            message + "; the run stops here and no checkpoint of this"
                                    + " state is written"
                                    + (checkpoints.isEmpty()
                                            ? ""
                                            : " (last checkpoint: " + checkpoints.get(checkpoints.size() - 1) + ")")
                                    + ". Lower --lr or --max-grad-norm, or pass"
                                    + " --skip-nonfinite to skip such steps");
                }
                LOG.warn("{}; step skipped (--skip-nonfinite), parameters unchanged", message);
                return meanLoss;
            }
            metrics.add(record);
            double elapsed = (now - runStart) / 1e9;
            double eta = Progress.eta(elapsed, step - startStep, config.steps - startStep);
            LOG.info(String.format(
                    Locale.ROOT,
                    "step %d/%d  loss %.4f  lr %.3e  grad-norm %.4f  tokens/s %.0f  ETA %s",
                    step,
                    config.steps,
                    meanLoss,
                    report.lr(),
                    report.clip().norm(),
                    tokens / stepSeconds,
                    Progress.duration(eta)));
            return meanLoss;
        }

        /**
         * Mean NLL of the first eval-windows validation windows (by rank) under the current parameters, and their answer
         * accuracy when the windows carry answer flags.
         */
        private Evaluation evaluate(long step) throws IOException {
            DistributedPass.Outcome o = state.evaluate(validation, evalWindows, (int) step);
            Evaluation evaluation = new Evaluation(o.meanLoss(), o.answers());
            double loss = evaluation.loss();
            ObjectNode record = metrics.newRecord("validation", step);
            record.put("loss", loss);
            record.put("perplexity", Math.exp(loss));
            record.put("windows", o.windows());
            record.put("tokens", o.tokens());
            String accuracy = "";
            if (evaluation.answerAccuracy().isPresent()) {
                record.put("answer_accuracy", evaluation.answerAccuracy().getAsDouble());
                record.put("answers", o.answers().answers());
                accuracy = String.format(
                        Locale.ROOT,
                        "  answer accuracy %.4f (%d answers)",
                        evaluation.answerAccuracy().getAsDouble(),
                        o.answers().answers());
            }
            metrics.add(record);
            metrics.flush();
            LOG.info(String.format(
                    Locale.ROOT,
                    "validation at step %d: loss %.4f  perplexity %.3f%s  (%d windows)",
                    step,
                    loss,
                    Math.exp(loss),
                    accuracy,
                    o.windows()));
            return evaluation;
        }

        private void saveCheckpoint(String target, long step) throws IOException {
            TrainConfig stored = config.copy();
            stored.resume = null;
            stored.overwrite = null;
            stored.injectTaskFailure = null;
            state.save(files, target, model, step, stored, schedule.epochOf(Math.max(0, step - 1)), tokenizerJson);
            checkpoints.add(target);
            LOG.info("checkpoint of step {} written to {}", step, target);
        }

        private void writeChart() throws IOException {
            Path png = Files.createTempFile("ssm-loss-", ".png");
            try {
                LossChart.render(metrics, "ssm-spark train: " + config.data, png);
                files.publishFile(png, RunFiles.child(config.out, LossChart.FILE));
            } finally {
                Files.deleteIfExists(png);
            }
        }

        private void writeSummary(double trainLoss, Evaluation validation, long nanos) throws IOException {
            ObjectNode s = JSON.createObjectNode();
            s.put("steps", config.steps);
            s.put("resumed_from_step", startStep);
            s.put("parameters", state.parameterCount());
            s.put("dtype", config.dtype);
            s.put("data", config.data);
            s.put("train_windows", trainWindows);
            s.put("validation_windows", validationWindows);
            s.put("final_train_loss", trainLoss);
            s.put("final_validation_loss", validation.loss());
            s.put("final_validation_perplexity", Math.exp(validation.loss()));
            if (validation.answerAccuracy().isPresent()) {
                s.put(
                        "final_validation_answer_accuracy",
                        validation.answerAccuracy().getAsDouble());
            } else {
                s.putNull("final_validation_answer_accuracy"); // the data has no answer positions
            }
            long tokens = (config.steps - startStep) * (long) config.globalBatch * config.seqLen;
            s.put("tokens_trained", tokens);
            s.put("wall_seconds", nanos / 1e9);
            s.put("tokens_per_s", tokens / (nanos / 1e9));
            s.put("final_checkpoint", RunFiles.child(config.out, FINAL_DIR));
            s.set("checkpoints", JSON.valueToTree(checkpoints));
            s.set("run", JSON.readTree(config.toJson()));
            files.writeAtomically(
                    RunFiles.child(config.out, SUMMARY_FILE),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s).getBytes(StandardCharsets.UTF_8));
        }
    }
}
