package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.train.TrainingMemory;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The training cost model of one data-parallel step (docs/scaling.md): measured constants in, projected seconds and
 * bytes out, for a model of N fp32 parameters on P executors (one training task each) that each train on a fixed
 * number of tokens per step. A pure function of its inputs; nothing here is timed.
 *
 * <p>Step time = compute (forward + backward, then the task's gradient sum and pack) + communication + fold +
 * optimizer + scheduling, with no overlap between them. A byte that crosses a link costs 1/network + 1/rate seconds:
 * the wire, then Spark's serialization, block transfer and deserialization at the rate measured on this machine's
 * loopback (the shuffle's, or for the task results a collect brings to the driver, the collect's).
 */
public final class TrainProjection {
    /** fp32 parameters: 4 bytes each in the broadcast and in a parameter shard. */
    static final long PARAMETER_BYTES = 4;
    /** A task's packed gradient sum: a double hi and a float lo per parameter ({@code PackedSum.byteSize}). */
    static final long GRADIENT_BYTES = 12;
    /**
     * What a task holds per parameter: its model's parameters and float gradient, the double-double sum (five doubles,
     * {@code CompensatedSum}), the packed result and the broadcast (or fetched) plain array: 4 + 4 + 40 + 12 + 4.
     */
    static final long TASK_BYTES_PER_PARAMETER = 64;
    /**
     * What a reducer holds per parameter of its shard: AdamW's m, v, decay mask and scratch (4 × 4), the parameters
     * (4), the double-double sum (40) and the term being folded (12).
     */
    static final long REDUCER_BYTES_PER_PARAMETER = 72;
    /** A small task result (loss, tokens, timings, a shard's squared norm) with Spark's result envelope: assumed. */
    static final long SMALL_RESULT_BYTES = 256;
    /** A map task's MapStatus besides its block sizes (location, map id): assumed. */
    static final long MAP_STATUS_HEADER_BYTES = 64;
    /** Spark's CompressedMapStatus keeps one byte (a log-scale size) per shuffle block. */
    static final long MAP_STATUS_BYTES_PER_BLOCK = 1;
    /** Logits and their gradient in fp32, per token per vocabulary entry. */
    static final long LOGIT_BYTES_PER_VOCAB_ENTRY = 8;

    /** How gradients reach the optimizer. */
    public enum Path {
        /** Today: broadcast the parameters, collect every task's packed gradient, fold and update on the driver. */
        DRIVER_FOLD,
        /** K reducers each own a shard: they fold its gradient terms, run AdamW on it and serve it to the tasks. */
        SHARDED
    }

    /**
     * The run being projected.
     *
     * @param tokensPerExecutor tokens each training task trains on per step
     * @param networkBytesPerSecond one executor's (and the driver's) link, each direction
     * @param shards reducers K of the sharded path, at most one per executor; 0 for one per executor (K = P)
     * @param executorMemoryBytes an executor's memory, to say whether the step fits
     * @param driverMemoryBytes the driver's memory, likewise
     */
    public record Setup(
            long tokensPerExecutor,
            double networkBytesPerSecond,
            int shards,
            long executorMemoryBytes,
            long driverMemoryBytes) {
        int shardsFor(int executors) {
            return shards > 0 ? Math.min(shards, executors) : executors;
        }
    }

    /** One projected step. Bytes are per step; the busiest link is the most bytes one endpoint sends or receives. */
    public record Step(
            ModelShape model,
            Path path,
            int executors,
            int shards,
            double computeSeconds,
            double taskGradientSeconds,
            double communicationSeconds,
            double foldSeconds,
            double optimizerSeconds,
            double schedulingSeconds,
            double busiestLinkBytes,
            double driverBytesReceived,
            double mapStatusBlocks,
            double executorBytes,
            double driverBytes,
            double computeAtGemmPeakSeconds) {

        public double stepSeconds() {
            return computeSeconds
                    + taskGradientSeconds
                    + communicationSeconds
                    + foldSeconds
                    + optimizerSeconds
                    + schedulingSeconds;
        }

        public double communicationShare() {
            return communicationSeconds / stepSeconds();
        }

        public JsonLine toJson(Setup setup) {
            return new JsonLine()
                    .put("bench", "train-projection")
                    .put("model", model.name())
                    .put("params", model.parameters())
                    .put("d_model", model.dModel())
                    .put("layers", model.layers())
                    .put("executors", executors)
                    .put("path", path.name().toLowerCase(java.util.Locale.ROOT))
                    .put("shards", shards)
                    .put("tokens_per_executor", setup.tokensPerExecutor())
                    .put("step_s", stepSeconds())
                    .put("compute_s", computeSeconds)
                    .put("task_gradient_s", taskGradientSeconds)
                    .put("communication_s", communicationSeconds)
                    .put("fold_s", foldSeconds)
                    .put("optimizer_s", optimizerSeconds)
                    .put("scheduling_s", schedulingSeconds)
                    .put("communication_share", communicationShare())
                    .put("busiest_link_bytes", busiestLinkBytes)
                    .put("driver_bytes_received", driverBytesReceived)
                    .put("map_status_blocks", mapStatusBlocks)
                    .put("executor_bytes", executorBytes)
                    .put("driver_bytes", driverBytes)
                    .put("fits_executor", executorBytes <= setup.executorMemoryBytes())
                    .put("fits_driver", driverBytes <= setup.driverMemoryBytes())
                    .put("tokens_per_s", (double) setup.tokensPerExecutor() * executors / stepSeconds())
                    .put("compute_at_gemm_peak_s", computeAtGemmPeakSeconds);
        }
    }

    private final MeasuredCosts costs;
    private final Setup setup;

    public TrainProjection(MeasuredCosts costs, Setup setup) {
        this.costs = costs;
        this.setup = setup;
    }

    public Setup setup() {
        return setup;
    }

    /** One step of {@code model} on {@code executors} executors along {@code path}. */
    public Step step(ModelShape model, int executors, Path path) {
        if (executors < 1) {
            throw new IllegalArgumentException("executors: expected >= 1 but found " + executors);
        }
        return path == Path.DRIVER_FOLD ? driverFold(model, executors) : sharded(model, executors);
    }

    /**
     * Broadcast 4N (the driver stores one copy, every executor downloads 4N at the shuffle rate), collect 12N from
     * each of P tasks through the driver's link at the result rate, fold P·N elements and update N on the driver, one
     * job of P tasks.
     */
    Step driverFold(ModelShape model, int p) {
        double n = model.parameters();
        double broadcast = PARAMETER_BYTES * n;
        double received = GRADIENT_BYTES * n * p;
        double communication = broadcast * costs.broadcastSecondsPerByte()
                + broadcast * secondsPerByte()
                + received * (1 / setup.networkBytesPerSecond() + 1 / costs.resultBytesPerSecond());
        double driverMemory = TrainingMemory.of(DataType.FLOAT).bytes(model.parameters()) + received;
        return new Step(
                model,
                Path.DRIVER_FOLD,
                p,
                1,
                computeSeconds(model),
                n * costs.taskGradientSecondsPerElement(),
                communication,
                p * n * costs.foldSecondsPerElement(),
                n * costs.optimizerSecondsPerElement(),
                costs.jobSeconds() + p * costs.taskSeconds(),
                Math.max(broadcast, received),
                received,
                0,
                taskBytes(model),
                driverMemory,
                computeAtGemmPeak(model));
    }

    /**
     * Each task fetches 4N of parameters as K shards and sends shard k of its 12N gradient to reducer k; reducer k
     * (one per executor for K = P) serves 4N/K to each of P tasks, receives 12N/K from each, folds P·N/K elements and
     * updates N/K. Two jobs (reduce + norm, update) of P + 2K tasks; the driver sees only small results and the map
     * statuses of two shuffles (P·K blocks each).
     */
    Step sharded(ModelShape model, int p) {
        int k = setup.shardsFor(p);
        double n = model.parameters();
        double perReducer = n / k;
        // an executor runs one training task and at most one reducer; each phase waits for its busiest end
        double parameterFetch = Math.max(PARAMETER_BYTES * n, PARAMETER_BYTES * perReducer * p);
        double gradientSend = Math.max(GRADIENT_BYTES * n, GRADIENT_BYTES * perReducer * p);
        double in = PARAMETER_BYTES * n + GRADIENT_BYTES * perReducer * p;
        double out = GRADIENT_BYTES * n + PARAMETER_BYTES * perReducer * p;
        double blocks = 2.0 * p * k;
        double driverReceived = (double) (p + k) * SMALL_RESULT_BYTES
                + (double) (p + k) * MAP_STATUS_HEADER_BYTES
                + blocks * MAP_STATUS_BYTES_PER_BLOCK;
        double executorMemory = taskBytes(model) + REDUCER_BYTES_PER_PARAMETER * Math.ceil(perReducer);
        return new Step(
                model,
                Path.SHARDED,
                p,
                k,
                computeSeconds(model),
                n * costs.taskGradientSecondsPerElement(),
                (parameterFetch + gradientSend) * secondsPerByte(),
                p * perReducer * costs.foldSecondsPerElement(),
                perReducer * costs.optimizerSecondsPerElement(),
                2 * costs.jobSeconds() + (p + 2.0 * k) * costs.taskSeconds(),
                Math.max(in, out),
                driverReceived,
                blocks,
                executorMemory,
                driverReceived,
                computeAtGemmPeak(model));
    }

    /**
     * Forward + backward seconds of one task's tokens. Per token and layer, with w = d_model / the bench's d_model:
     * the Mamba projections and attention scale as w² (their FLOPs are ~d² per token), the SSD kernel and the norms
     * as w (d_inner·(Q + N) and d per token, at the bench's state size and chunk), the MLP as d·hidden and the head as
     * d·vocab.
     */
    double computeSeconds(ModelShape m) {
        double w = (double) m.dModel() / costs.benchDModel();
        double mlpScale = costs.benchMlpHidden() == 0
                ? 0
                : (double) m.dModel() * m.mlpHidden() / ((double) costs.benchDModel() * costs.benchMlpHidden());
        double headScale =
                (double) m.dModel() * m.paddedVocab() / ((double) costs.benchDModel() * costs.benchPaddedVocab());
        double perToken =
                m.mambaLayers() * (costs.mambaProjectionSecondsPerToken() * w * w + costs.ssdSecondsPerToken() * w)
                        + m.attentionLayers() * costs.attentionSecondsPerToken() * w * w
                        + m.mlpLayers() * costs.mlpSecondsPerToken() * mlpScale
                        + m.layers() * costs.normSecondsPerToken() * w
                        + costs.headSecondsPerToken() * headScale;
        return perToken * setup.tokensPerExecutor();
    }

    /** A task's memory: its parameter copy, gradient sums and activations (∝ d per token per layer, plus logits). */
    double taskBytes(ModelShape m) {
        double w = (double) m.dModel() / costs.benchDModel();
        double activationsPerToken = m.layers() * costs.activationBytesPerTokenPerLayer() * w
                + LOGIT_BYTES_PER_VOCAB_ENTRY * m.paddedVocab();
        return TASK_BYTES_PER_PARAMETER * (double) m.parameters() + activationsPerToken * setup.tokensPerExecutor();
    }

    /** The 6·N FLOPs per token rule at the measured gemm rate: a floor no CPU step beats. */
    private double computeAtGemmPeak(ModelShape m) {
        return 6.0 * m.parameters() * setup.tokensPerExecutor() / (costs.gemmGflops() * 1e9);
    }

    /** The wire, then Spark's software cost at the measured loopback shuffle rate. */
    private double secondsPerByte() {
        return 1 / setup.networkBytesPerSecond() + 1 / costs.shuffleBytesPerSecond();
    }
}
