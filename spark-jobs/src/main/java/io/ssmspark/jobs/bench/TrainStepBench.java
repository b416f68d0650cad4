package io.ssmspark.jobs.bench;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.Precision;
import io.ssmspark.jobs.train.CompensatedSum;
import io.ssmspark.jobs.train.PartitionResult;
import io.ssmspark.jobs.train.WindowPass;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.checkpoint.ModelMemory;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.mixer.LayerTimings;
import io.ssmspark.model.optim.AdamW;
import io.ssmspark.model.optim.AdamWSettings;
import io.ssmspark.model.optim.LearningRateSchedule;
import io.ssmspark.model.optim.Optimizer;
import io.ssmspark.model.tensor.MemoryLimits;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark bench train-step}: times one training step of a hybrid model on random tokens, as a training
 * task and the driver run it: the task's micro-batches (forward, NLL, backward, the double-double gradient sum;
 * {@code --threads} of them at once, as a task with that many cores runs them), then the mean and clip + AdamW.
 * Prints one JSON line: the median step time (wall and process CPU), tokens/s, the machine's gemm rate, and the
 * mean per-step seconds per kind of layer, forward and backward (thread-seconds: summed over the threads).
 */
@Command(
        name = "train-step",
        mixinStandardHelpOptions = true,
        description = "Time forward + backward + AdamW of a hybrid model on random tokens; prints one JSON line.")
public final class TrainStepBench implements Callable<Integer> {
    /** Where the bench model's sizes come from, for messages. */
    static final String OPTIONS = "the bench model (--d-model, --pattern, --d-intermediate, --vocab)";

    @Option(names = "--d-model", description = "d_model (default: ${DEFAULT-VALUE}).")
    int dModel = 256;

    @Option(
            names = "--pattern",
            description = "One letter per layer: M = Mamba2, A = attention (default: ${DEFAULT-VALUE}).")
    String pattern = "MMMAMMMA";

    @Option(names = "--d-intermediate", description = "GatedMLP width, 0 = no MLP (default: ${DEFAULT-VALUE}).")
    int dIntermediate = 512;

    @Option(names = "--d-state", description = "SSM state size N (default: ${DEFAULT-VALUE}).")
    int dState = 64;

    @Option(names = "--headdim", description = "SSM head dimension P (default: ${DEFAULT-VALUE}).")
    int headdim = 32;

    @Option(names = "--heads", description = "Attention heads; head dim = d_model / heads (default: ${DEFAULT-VALUE}).")
    int heads = 8;

    @Option(names = "--vocab", description = "Vocabulary size (default: ${DEFAULT-VALUE}).")
    int vocab = 256;

    @Option(names = "--seq-len", description = "Tokens per sequence T (default: ${DEFAULT-VALUE}).")
    int seqLen = 1024;

    @Option(names = "--batch", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batch = 4;

    @Option(
            names = "--threads",
            description = "Micro-batches computed at once, one per thread, as a training task with that many cores"
                    + " (default: the cores of this machine).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(
            names = "--micro-batch",
            description = "Sequences per micro-batch (default: --batch / --threads, rounded up).")
    int microBatch = 0;

    @Option(names = "--chunk-size", description = "SSD chunk length Q (default: ${DEFAULT-VALUE}, as mamba_ssm).")
    int chunkSize = 256;

    @Option(names = "--steps", description = "Timed steps; the median is reported (default: ${DEFAULT-VALUE}).")
    int steps = 5;

    @Option(names = "--warmup", description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
    int warmup = 1;

    @Option(names = "--dtype", description = "float32 or float64 (default: ${DEFAULT-VALUE}).")
    String dtype = "float32";

    @Option(
            names = "--blas-threads",
            description = "Threads of the gemms (OpenBLAS); the other ND4J ops keep "
                    + "OMP_NUM_THREADS (default: ${DEFAULT-VALUE}, leave as is).")
    int blasThreads = 0;

    @Option(names = "--seed", description = "Seed of the parameters and tokens (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Override
    public Integer call() {
        DataType type = Precision.parse("--dtype", dtype);
        requirePositive("--seq-len", seqLen);
        requirePositive("--batch", batch);
        requirePositive("--steps", steps);
        requirePositive("--vocab", vocab);
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup: expected >= 0 but found " + warmup);
        }
        requirePositive("--threads", threads);
        if (microBatch < 0) {
            throw new IllegalArgumentException("--micro-batch: expected >= 1 but found " + microBatch);
        }
        int micro = microBatch > 0 ? microBatch : (batch + threads - 1) / threads;
        if (blasThreads < 0) {
            throw new IllegalArgumentException("--blas-threads: expected >= 0 but found " + blasThreads);
        }
        if (blasThreads > 0) {
            Nd4j.factory().blas().setMaxThreads(blasThreads);
        }
        MambaConfig config = config();
        new ModelMemory(
                        "a train step in " + ModelMemory.name(type) + " (the parameters, their gradient and AdamW's"
                                + " state)",
                        6L * type.width(),
                        0,
                        Long.MAX_VALUE)
                .require(config, OPTIONS, MemoryLimits.ofThisJvm());
        HybridLm model = ModelInit.newModel(config, seed, type);
        Optimizer optimizer = new Optimizer(
                new AdamW(model.schema(), type, AdamWSettings.defaults()), LearningRateSchedule.constant(1e-3), 1.0);
        Random random = new Random(seed + 1);
        List<Window> windows = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int[] tokens = new int[seqLen + 1];
            for (int t = 0; t <= seqLen; t++) {
                tokens[t] = random.nextInt(vocab);
            }
            windows.add(new Window(b, b, tokens));
        }
        LayerTimings timings = new LayerTimings();
        model.setTimings(timings);
        double[] optimizerSeconds = new double[1];
        double[] combineSeconds = new double[1];
        long parameters = model.parameters().length();
        Runnable step = () -> {
            PartitionResult result = WindowPass.compute(() -> model, 0, windows, true, micro, threads);
            long t0 = System.nanoTime();
            try (CompensatedSum sum = new CompensatedSum(parameters)) {
                sum.add(result.gradient);
                try (INDArray gradient = sum.mean((long) batch * seqLen, type)) {
                    long t1 = System.nanoTime();
                    combineSeconds[0] += (t1 - t0) / 1e9;
                    optimizer.step(model.parameters(), gradient);
                    optimizerSeconds[0] += (System.nanoTime() - t1) / 1e9;
                }
            }
        };
        for (int i = 0; i < warmup; i++) {
            step.run();
        }
        timings.reset();
        optimizerSeconds[0] = 0;
        combineSeconds[0] = 0;
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        double[] wall = new double[steps];
        double[] cpu = new double[steps];
        for (int i = 0; i < steps; i++) {
            long c0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            step.run();
            wall[i] = (System.nanoTime() - t0) / 1e9;
            cpu[i] = (os.getProcessCpuTime() - c0) / 1e9;
        }
        model.setTimings(null);
        double stepMedian = median(wall);
        JsonLine out = new JsonLine()
                .put("bench", "train-step")
                .put("params", CheckpointSchema.of(config).totalParameters())
                .put("pattern", pattern)
                .put("d_model", dModel)
                .put("d_intermediate", dIntermediate)
                .put("d_state", dState)
                .put("headdim", headdim)
                .put("heads", heads)
                .put("vocab", vocab)
                .put("chunk_size", chunkSize)
                .put(
                        "kernel_chunk",
                        io.ssmspark.model.mixer.Mamba2Mixer.Spec.of(config()).chunkSize())
                .put("dtype", dtype)
                .put("seq_len", seqLen)
                .put("batch", batch)
                .put("micro_batch", micro)
                .put("threads", Math.min(threads, (batch + micro - 1) / micro))
                .put("steps", steps)
                .put("step_s_median", stepMedian)
                .put("step_s_min", Arrays.stream(wall).min().orElseThrow())
                .put("cpu_s_median", median(cpu))
                .put("tokens_per_s", batch * (double) seqLen / stepMedian);
        for (LayerTimings.Part part : LayerTimings.Part.values()) {
            String name = part.name().toLowerCase(Locale.ROOT);
            out.put("fwd_" + name + "_s", timings.forwardSeconds(part) / steps);
            out.put("bwd_" + name + "_s", timings.backwardSeconds(part) / steps);
        }
        out.put("gradient_mean_s", combineSeconds[0] / steps)
                .put("optimizer_s", optimizerSeconds[0] / steps)
                .put("gemm_gflops", GemmPeak.measureGflops())
                .put("omp_threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "default"))
                .put("blas_threads", Nd4j.factory().blas().getMaxThreads());
        System.out.println(BlasKernels.describe(out));
        return 0;
    }

    /** The model of the options: pattern letters give attn_layer_idx; tied embeddings as in mamba_ssm. */
    MambaConfig config() {
        requirePositive("--d-model", dModel);
        requirePositive("--d-state", dState);
        requirePositive("--headdim", headdim);
        requirePositive("--heads", heads);
        requirePositive("--chunk-size", chunkSize);
        if (dIntermediate < 0) {
            throw new IllegalArgumentException("--d-intermediate: expected >= 0 but found " + dIntermediate);
        }
        List<Integer> attention = LayerPattern.attentionLayers(pattern);
        if (!attention.isEmpty() && dModel % heads != 0) {
            throw new IllegalArgumentException(
                    "--heads: d_model " + dModel + " is not divisible by " + heads + " heads");
        }
        if ((2 * dModel) % headdim != 0) {
            throw new IllegalArgumentException(
                    "--headdim: d_inner = 2·d_model = " + 2 * dModel + " is not divisible by " + headdim);
        }
        return MambaConfig.builder()
                .dModel(dModel)
                .nLayer(pattern.length())
                .vocabSize(vocab)
                .dIntermediate(dIntermediate)
                .ssm(SsmConfig.builder()
                        .dState(dState)
                        .headdim(headdim)
                        .chunkSize(chunkSize)
                        .build())
                .attnLayerIdx(attention)
                .attn(AttnConfig.builder()
                        .numHeads(heads)
                        .numHeadsKv(heads)
                        .headDim(dModel / heads)
                        .build())
                .tieEmbeddings(true)
                .build();
    }

    private static void requirePositive(String option, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + ": expected >= 1 but found " + value);
        }
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
}
