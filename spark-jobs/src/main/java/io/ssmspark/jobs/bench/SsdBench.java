package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.spark.Precision;
import io.ssmspark.model.ssd.ChunkedSsd;
import io.ssmspark.model.ssd.SsdInputs;
import io.ssmspark.model.tensor.KernelThreads;
import io.ssmspark.model.tensor.Scratch;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark bench ssd}: times the chunked SSD forward (and optionally the backward) on random
 * inputs and prints one JSON line. FLOPs are counted as 2·T·Q·H·(N+P) + 4·T·H·N·P per sequence; the gemm rate is
 * one thread's, and the fraction of peak is of that rate times the threads.
 */
@Command(
        name = "ssd",
        mixinStandardHelpOptions = true,
        description = "Time the chunked SSD kernel; prints one JSON line with GFLOP/s beside the gemm peak.")
public final class SsdBench implements Callable<Integer> {
    @Option(names = "--seq-len", description = "Sequence length T (default: ${DEFAULT-VALUE}).")
    int seqLen = 65536;

    @Option(names = "--heads", description = "Heads H (default: ${DEFAULT-VALUE}).")
    int heads = 16;

    @Option(names = "--headdim", description = "Head dimension P (default: ${DEFAULT-VALUE}).")
    int headDim = 32;

    @Option(names = "--d-state", description = "State dimension N (default: ${DEFAULT-VALUE}).")
    int dState = 64;

    @Option(names = "--chunk", description = "Chunk length Q (default: ${DEFAULT-VALUE}).")
    int chunk = 64;

    @Option(names = "--groups", description = "Groups G sharing B and C (default: ${DEFAULT-VALUE}).")
    int groups = 1;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 1;

    @Option(names = "--dtype", description = "float32 or float64 (default: ${DEFAULT-VALUE}).")
    String dtype = "float32";

    @Option(names = "--warmup", description = "Untimed warm-up runs (default: ${DEFAULT-VALUE}).")
    int warmup = 3;

    @Option(names = "--runs", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    int runs = 9;

    @Option(
            names = "--backward",
            description = "Also time the backward pass (on one thread: only the forward spreads its heads).")
    boolean backward;

    @Option(
            names = "--threads",
            description = "Threads the forward spreads its heads over (default: this machine's cores; "
                    + KernelThreads.VARIABLE + " sets the same in every other command).")
    Integer threads;

    @Override
    public Integer call() {
        DataType type = Precision.parse("--dtype", dtype);
        if (seqLen < 1 || heads < 1 || headDim < 1 || dState < 1 || groups < 1 || batch < 1) {
            throw new IllegalArgumentException(
                    "--seq-len, --heads, --headdim, --d-state, --groups and --batch must be ≥ 1");
        }
        int kernelThreads = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (kernelThreads < 1) {
            throw new IllegalArgumentException("--threads: expected >= 1 but found " + kernelThreads);
        }
        Nd4j.getRandom().setSeed(42);
        SsdInputs in = new SsdInputs(
                Nd4j.rand(type, batch, seqLen, heads, headDim).subi(0.5),
                Nd4j.rand(type, batch, seqLen, heads).muli(0.09).addi(0.01),
                Nd4j.rand(type, heads).muli(-15).subi(1),
                Nd4j.rand(type, batch, seqLen, groups, dState).subi(0.5),
                Nd4j.rand(type, batch, seqLen, groups, dState).subi(0.5),
                Nd4j.ones(type, heads));
        // each run in the thread's reused step scratch, as a model layer's forward runs
        int before = KernelThreads.threads();
        KernelThreads.set(kernelThreads);
        BenchTiming fwd;
        try {
            fwd = BenchTiming.measure(warmup, runs, () -> {
                try (Scratch ignored = Scratch.openStep()) {
                    ChunkedSsd.forward(in, chunk, null);
                }
            });
        } finally {
            KernelThreads.set(before);
        }
        double flops = (double) batch
                * (2.0 * seqLen * chunk * heads * (dState + headDim) + 4.0 * seqLen * heads * dState * headDim);
        double gemm = GemmPeak.measureGflops();
        double gflops = flops / fwd.medianSeconds() / 1e9;
        JsonLine out = new JsonLine()
                .put("bench", "ssd")
                .put("seq_len", seqLen)
                .put("batch", batch)
                .put("heads", heads)
                .put("headdim", headDim)
                .put("d_state", dState)
                .put("groups", groups)
                .put("chunk", chunk)
                .put("dtype", dtype)
                .put("runs", fwd.runs())
                .put("seconds", fwd.medianSeconds())
                .put("seconds_min", fwd.minSeconds())
                .put("cpu_seconds", fwd.medianCpuSeconds())
                .put("tokens_per_s", batch * seqLen / fwd.medianSeconds())
                .put("gflops", gflops)
                .put("threads", kernelThreads)
                .put("gemm_gflops", gemm)
                .put("fraction_of_gemm_peak", gflops / (gemm * kernelThreads));
        if (backward) {
            INDArray dy = Nd4j.rand(type, batch, seqLen, heads, headDim);
            BenchTiming bwd = BenchTiming.measure(1, runs, () -> ChunkedSsd.backward(in, chunk, null, dy, null));
            out.put("backward_seconds", bwd.medianSeconds())
                    .put("backward_tokens_per_s", batch * seqLen / bwd.medianSeconds());
        }
        out.put("omp_threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "default"))
                .put(
                        "load_average",
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                                .getSystemLoadAverage());
        System.out.println(BlasKernels.describe(out));
        return 0;
    }
}
