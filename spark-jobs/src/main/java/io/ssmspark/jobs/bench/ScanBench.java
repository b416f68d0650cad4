package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.spark.Precision;
import io.ssmspark.model.scan.ChunkedScan;
import io.ssmspark.model.scan.ScanInputs;
import io.ssmspark.model.ssd.ChunkedSsd;
import io.ssmspark.model.ssd.SsdInputs;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark bench scan --layer mamba1}: times Mamba-1's chunked selective scan ({@link ChunkedScan}) forward
 * (and optionally its backward) on random inputs of one width, and in the same run the chunked SSD of Mamba-2 at the
 * same width (d_inner = heads × headdim) and this machine's gemm peak, and prints one JSON line.
 *
 * <p>FLOPs of the scan are counted as batch · T · (7·D·N + 3·D): per token, channel d and state n the recurrence
 * takes dt·A, its exp (counted as one), the product with h, (dt·x)·B, the sum, and the multiply-add of C·h; per
 * channel dt·x and the skip D·x with its add. That is the recurrence's own arithmetic: the chunked form's second
 * pass over each chunk (from the chunk's true initial state) is not counted. The SSD's FLOPs are counted as
 * {@code bench ssd} counts them, 2·T·Q·H·(N+P) + 4·T·H·N·P per sequence.
 */
@Command(
        name = "scan",
        mixinStandardHelpOptions = true,
        description = "Time a state-space scan kernel (--layer mamba1: Mamba-1's chunked selective scan) beside the"
                + " chunked SSD of the same width and the gemm peak; prints one JSON line.")
public final class ScanBench implements Callable<Integer> {
    @Option(names = "--layer", description = "The scan to time: mamba1 (default: ${DEFAULT-VALUE}).")
    String layer = "mamba1";

    @Option(names = "--seq-len", description = "Sequence length T (default: ${DEFAULT-VALUE}).")
    int seqLen = 65536;

    @Option(names = "--width", description = "Channels D = d_inner (default: ${DEFAULT-VALUE}).")
    int width = 1024;

    @Option(names = "--d-state", description = "State size N per channel (default: ${DEFAULT-VALUE}).")
    int dState = 16;

    @Option(names = "--chunk", description = "Chunk length Q of the scan (default: the mixer's, ${DEFAULT-VALUE}).")
    int chunk = ChunkedScan.DEFAULT_CHUNK;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 1;

    @Option(names = "--dtype", description = "float32 or float64 (default: ${DEFAULT-VALUE}).")
    String dtype = "float32";

    @Option(names = "--warmup", description = "Untimed warm-up runs of each kernel (default: ${DEFAULT-VALUE}).")
    int warmup = 1;

    @Option(
            names = {"--runs", "--reps"},
            description = "Timed runs of each kernel; the median is reported" + " (default: ${DEFAULT-VALUE}).")
    int runs = 3;

    @Option(names = "--backward", description = "Also time the scan's backward pass.")
    boolean backward;

    @Option(
            names = "--ssd-headdim",
            description = "Head dimension P of the SSD beside it; heads = width / P"
                    + " (default: ${DEFAULT-VALUE}, mamba_ssm's Mamba2 default).")
    int ssdHeadDim = 64;

    @Option(
            names = "--ssd-d-state",
            description = "State dimension N of the SSD beside it (default:" + " ${DEFAULT-VALUE}, bench ssd's).")
    int ssdDState = 64;

    @Option(names = "--ssd-chunk", description = "Chunk length Q of the SSD beside it (default: ${DEFAULT-VALUE}).")
    int ssdChunk = 64;

    @Override
    public Integer call() {
        if (!layer.equals("mamba1")) {
            throw new IllegalArgumentException("--layer: '" + layer + "' is not a scan this bench times; use mamba1");
        }
        DataType type = Precision.parse("--dtype", dtype);
        if (seqLen < 1
                || width < 1
                || dState < 1
                || chunk < 1
                || batch < 1
                || ssdHeadDim < 1
                || ssdDState < 1
                || ssdChunk < 1) {
            throw new IllegalArgumentException("--seq-len, --width, --d-state, --chunk, --batch, --ssd-headdim,"
                    + " --ssd-d-state and --ssd-chunk must be ≥ 1");
        }
        if (width % ssdHeadDim != 0) {
            throw new IllegalArgumentException("--width " + width + " is not a multiple of --ssd-headdim " + ssdHeadDim
                    + " (the SSD beside the scan has the same width as heads × headdim)");
        }
        Nd4j.getRandom().setSeed(42);
        // dt as the mixer makes it (softplus of its pre-activation, here in [0.01, 0.1]); A = −(1..N) per channel, as
        // mamba_ssm initialises A_log; x, B, C uniform in ±0.5; D = 1.
        INDArray aRow = Nd4j.linspace(type, 1, dState, 1).reshape(1, dState);
        ScanInputs in = new ScanInputs(
                Nd4j.rand(type, batch, seqLen, width).subi(0.5),
                Nd4j.rand(type, batch, seqLen, width).muli(0.09).addi(0.01),
                Nd4j.ones(type, width, 1).mmul(aRow).negi(),
                Nd4j.rand(type, batch, seqLen, dState).subi(0.5),
                Nd4j.rand(type, batch, seqLen, dState).subi(0.5),
                Nd4j.ones(type, width));
        BenchTiming fwd = BenchTiming.measure(warmup, runs, () -> ChunkedScan.forward(in, chunk, null));
        double flops = (double) batch * seqLen * (7.0 * width * dState + 3.0 * width);
        double gflops = flops / fwd.medianSeconds() / 1e9;
        JsonLine out = new JsonLine()
                .put("bench", "scan")
                .put("layer", layer)
                .put("seq_len", seqLen)
                .put("batch", batch)
                .put("width", width)
                .put("d_state", dState)
                .put("chunk", chunk)
                .put("dtype", dtype)
                .put("runs", fwd.runs())
                .put("seconds", fwd.medianSeconds())
                .put("seconds_min", fwd.minSeconds())
                .put("cpu_seconds", fwd.medianCpuSeconds())
                .put("tokens_per_s", batch * seqLen / fwd.medianSeconds())
                .put("gflops", gflops);
        if (backward) {
            INDArray dy = Nd4j.rand(type, batch, seqLen, width).subi(0.5);
            BenchTiming bwd = BenchTiming.measure(warmup, runs, () -> ChunkedScan.backward(in, chunk, null, dy, null));
            out.put("backward_seconds", bwd.medianSeconds())
                    .put("backward_tokens_per_s", batch * seqLen / bwd.medianSeconds());
        }

        // the chunked SSD of the same width, with bench ssd's inputs
        int heads = width / ssdHeadDim;
        SsdInputs ssd = new SsdInputs(
                Nd4j.rand(type, batch, seqLen, heads, ssdHeadDim).subi(0.5),
                Nd4j.rand(type, batch, seqLen, heads).muli(0.09).addi(0.01),
                Nd4j.rand(type, heads).muli(-15).subi(1),
                Nd4j.rand(type, batch, seqLen, 1, ssdDState).subi(0.5),
                Nd4j.rand(type, batch, seqLen, 1, ssdDState).subi(0.5),
                Nd4j.ones(type, heads));
        BenchTiming ssdTime = BenchTiming.measure(warmup, runs, () -> ChunkedSsd.forward(ssd, ssdChunk, null));
        double ssdFlops = (double) batch
                * (2.0 * seqLen * ssdChunk * heads * (ssdDState + ssdHeadDim)
                        + 4.0 * seqLen * heads * ssdDState * ssdHeadDim);
        double ssdGflops = ssdFlops / ssdTime.medianSeconds() / 1e9;
        double gemm = GemmPeak.measureGflops();
        out.put("ssd_heads", heads)
                .put("ssd_headdim", ssdHeadDim)
                .put("ssd_d_state", ssdDState)
                .put("ssd_chunk", ssdChunk)
                .put("ssd_seconds", ssdTime.medianSeconds())
                .put("ssd_tokens_per_s", batch * seqLen / ssdTime.medianSeconds())
                .put("ssd_gflops", ssdGflops)
                .put("scan_seconds_per_ssd_second", fwd.medianSeconds() / ssdTime.medianSeconds())
                .put("gemm_gflops", gemm)
                .put("fraction_of_gemm_peak", gflops / gemm)
                .put("ssd_fraction_of_gemm_peak", ssdGflops / gemm)
                .put("omp_threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "default"))
                .put(
                        "load_average",
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                                .getSystemLoadAverage());
        System.out.println(BlasKernels.describe(out));
        return 0;
    }
}
