package io.ssmspark.jobs.bench;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.score.ExchangeStats;
import io.ssmspark.jobs.score.SequenceParallelScorer;
import io.ssmspark.jobs.score.SequenceSummary;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.checkpoint.ModelMemory;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.lm.SequenceScorer;
import io.ssmspark.model.tensor.MemoryLimits;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark bench score}: scores one random-token sequence with a random-init model (default: 4
 * Mamba-2 layers, d_model 256, d_state 64, headdim 32, vocab 256; {@code --pattern} puts attention layers in, full or
 * windowed) twice in one command: in this process with
 * {@link SequenceScorer} (all cores to ND4J, or {@code --single-threads}), then sequence-parallel on Spark (ND4J
 * threads per task = cores / concurrent tasks). Prints one JSON line per length: seconds, tokens/s, the speed-up,
 * the ratio to a reference tokens/s, the peaks of the JVM heap in use, of the heap left after each garbage
 * collection and of the process's resident set during each run ({@link MemoryPeaks}; in local mode the executors
 * are this process), the bytes exchanged per layer (summaries and halos) and each task's seconds spent waiting in
 * the exchanges.
 *
 * <p>The sequence is cut into {@code --segments} segments, or into segments of {@code --segment-length} tokens
 * (as many as it takes): with a fixed length, memory should stay flat as T grows, and with a fixed count the
 * exchanged bytes should.
 */
@Command(
        name = "score",
        mixinStandardHelpOptions = true,
        description = "Time sequence-parallel scoring against single-process scoring; one JSON line per --seq-len.")
public final class ScoreBench implements Callable<Integer> {
    @Option(names = "--seq-len", split = ",", description = "Sequence lengths T (default: ${DEFAULT-VALUE}).")
    long[] seqLens = {1_000_000};

    @Option(names = "--segments", description = "Segments per sequence (default: ${DEFAULT-VALUE}).")
    int segments = 8;

    @Option(
            names = "--segment-length",
            description = "Tokens per segment, as many segments as it takes; overrides --segments (default: none).")
    int segmentLength;

    @Option(names = "--master", description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master = "local[2]";

    @Option(
            names = "--pattern",
            description = "One letter per layer: M = Mamba2, A = attention (default:"
                    + " ${DEFAULT-VALUE}; MMAM with --attn-window 0 and with a window are the hybrid cases).")
    String pattern = "MMMM";

    @Option(names = "--heads", description = "Attention heads; head dim = d_model / heads (default: ${DEFAULT-VALUE}).")
    int heads = 8;

    @Option(
            names = "--attn-window",
            description = "Attention window in tokens, 0 = full causal attention (default: ${DEFAULT-VALUE}).")
    int attnWindow;

    @Option(names = "--d-model", description = "d_model (default: ${DEFAULT-VALUE}).")
    int dModel = 256;

    @Option(names = "--d-state", description = "d_state (default: ${DEFAULT-VALUE}).")
    int dState = 64;

    @Option(names = "--headdim", description = "headdim (default: ${DEFAULT-VALUE}).")
    int headDim = 32;

    @Option(names = "--chunk", description = "chunk_size (default: ${DEFAULT-VALUE}).")
    int chunk = 256;

    @Option(names = "--vocab", description = "vocab_size (default: ${DEFAULT-VALUE}).")
    int vocab = 256;

    @Option(
            names = "--window",
            description = "Single-process scoring window (default: ${DEFAULT-VALUE}, the" + " fastest of 4K-32K here).")
    int window = 16_384;

    @Option(
            names = "--single-threads",
            description = "ND4J threads of the single-process run (default: 0, all cores, as `ssm-spark nll` runs).")
    int singleThreads;

    @Option(names = "--skip-single", description = "Skip the single-process run.")
    boolean skipSingle;

    @Option(
            names = "--storage-level",
            description = "Storage level of the scored segments (default: ${DEFAULT-VALUE}).")
    String storageLevel = "DISK_ONLY";

    @Option(
            names = "--reference-tokens-per-s",
            description = "Reference figure to compare with (default: ${DEFAULT-VALUE}, PyTorch 1.13 at T = 65,536).")
    double reference = 2050;

    @Mixin
    ScoreProjectionOptions projection = new ScoreProjectionOptions();

    @Override
    public Integer call() throws IOException {
        if (segments < 1) {
            throw new IllegalArgumentException("--segments: expected at least 1 but found " + segments);
        }
        List<Integer> attention = LayerPattern.attentionLayers(pattern);
        if (!attention.isEmpty() && (heads < 1 || dModel % heads != 0)) {
            throw new IllegalArgumentException(
                    "--heads: expected a divisor of d_model " + dModel + " but found " + heads);
        }
        if (attnWindow < 0) {
            throw new IllegalArgumentException(
                    "--attn-window: expected 0 (full) or more tokens but found " + attnWindow);
        }
        if (singleThreads < 0) {
            throw new IllegalArgumentException(
                    "--single-threads: expected 0 (all cores) or more but found " + singleThreads);
        }
        if (segmentLength < 0) {
            throw new IllegalArgumentException(
                    "--segment-length: expected at least 1 token but found " + segmentLength);
        }
        MambaConfig config = MambaConfig.builder()
                .dModel(dModel)
                .nLayer(pattern.length())
                .vocabSize(vocab)
                .padVocabSizeMultiple(8)
                .dIntermediate(0)
                .ssm(SsmConfig.builder()
                        .dState(dState)
                        .headdim(headDim)
                        .chunkSize(chunk)
                        .build())
                .attnLayerIdx(attention)
                .attn(AttnConfig.builder()
                        .numHeads(heads)
                        .numHeadsKv(heads)
                        .headDim(dModel / heads)
                        .rotaryEmbDim(dModel / heads)
                        .windowSize(attnWindow == 0 ? null : attnWindow)
                        .build())
                .build();
        new ModelMemory(
                        "scoring it (the model, and its copy as the plain array broadcast to the tasks)",
                        2 * 4,
                        4,
                        ModelMemory.MAX_JAVA_ARRAY)
                .require(
                        config,
                        "the bench model (--d-model, --pattern, --d-state, --headdim," + " --heads, --vocab)",
                        MemoryLimits.ofThisJvm());
        HybridLm lm = ModelInit.newModel(config, 1, DataType.FLOAT);
        if (projection.requested()) {
            return projection.run(lm);
        }
        ModelBlob blob = ModelBlob.of(config, lm.parameters());
        int cores = Runtime.getRuntime().availableProcessors();
        SparkSession spark =
                SparkSessions.builder("ssm-spark bench score").master(master).build();
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int tasks = Math.max(1, Math.min(jsc.defaultParallelism(), cores));
            for (long t : seqLens) {
                if (t < 2 || t > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(
                            "--seq-len: expected 2.." + Integer.MAX_VALUE + " but found " + t);
                }
                int[] tokens = new Random(t).ints((int) t, 0, vocab).toArray();
                int length = segmentLength > 0 ? segmentLength : (int) ((t + segments - 1) / segments);
                List<Segment> cut = cut(tokens, length);
                double singleSeconds = Double.NaN;
                MemoryPeaks single = null;
                if (!skipSingle) {
                    setThreads(singleThreads > 0 ? singleThreads : cores);
                    single = new MemoryPeaks();
                    singleSeconds = timeSingle(lm, tokens);
                    single.close();
                }
                setThreads(Math.max(1, cores / tasks));
                MemoryPeaks parallel = new MemoryPeaks();
                long t0 = System.nanoTime();
                SequenceParallelScorer.Result r = new SequenceParallelScorer(
                                jsc, blob, StorageLevel.fromString(storageLevel), 0, false, 0)
                        .score(jsc.parallelize(cut, cut.size()));
                double sparkSeconds = (System.nanoTime() - t0) / 1e9;
                parallel.close();
                r.release();
                SequenceSummary s = r.summaries().get(0);
                long positions = t - 1;
                List<Long> exchanged = new ArrayList<>();
                for (ExchangeStats e : r.exchanges()) {
                    exchanged.add(e.total());
                }
                JsonLine line = new JsonLine()
                        .put("bench", "score")
                        .put("master", master)
                        .put("seq_len", t)
                        .put("segments", cut.size())
                        .put("segment_length", length)
                        .put("storage_level", storageLevel)
                        .put("pattern", pattern)
                        .put("attn_window", attnWindow)
                        .put("d_model", dModel)
                        .put("d_state", dState)
                        .put("headdim", headDim)
                        .put("chunk", chunk)
                        .put(
                                "kernel_chunk",
                                io.ssmspark.model.mixer.Mamba2Mixer.Spec.of(config)
                                        .chunkSize())
                        .put("parallel_segments", r.width())
                        .put("nd4j_threads_per_task", Math.max(1, cores / tasks))
                        .put("single_nd4j_threads", singleThreads > 0 ? singleThreads : cores)
                        .put("spark_seconds", sparkSeconds)
                        .put("spark_tokens_per_s", positions / sparkSeconds)
                        .put("single_seconds", singleSeconds)
                        .put("single_tokens_per_s", positions / singleSeconds)
                        .put("speedup_vs_single", singleSeconds / sparkSeconds)
                        .put("ratio_vs_reference", positions / sparkSeconds / reference)
                        .put("mean_nll", s.meanNll())
                        .put("peak_heap_used_bytes", parallel.heapInUse.get())
                        .put("peak_heap_after_gc_bytes", parallel.heapAfterGc.get())
                        .put("peak_heap_committed_bytes", parallel.heapCommitted.get())
                        .put("peak_rss_bytes", parallel.residentSet.get())
                        .put("single_peak_heap_used_bytes", single == null ? 0 : single.heapInUse.get())
                        .put("single_peak_heap_after_gc_bytes", single == null ? 0 : single.heapAfterGc.get())
                        .put("single_peak_rss_bytes", single == null ? 0 : single.residentSet.get())
                        .put("exchanged_bytes_per_layer", exchanged.toString())
                        .put("exchange_wait_s_per_task", Arrays.toString(r.exchangeWaitSeconds()));
                System.out.println(BlasKernels.describe(line.put("gemm_gflops", GemmPeak.measureGflops())));
            }
        } finally {
            spark.stop();
        }
        return 0;
    }

    private double timeSingle(HybridLm lm, int[] tokens) throws IOException {
        SequenceScorer.TokenSource source = new SequenceScorer.TokenSource() {
            @Override
            public long length() {
                return tokens.length;
            }

            @Override
            public int[] read(long start, int count) {
                return Arrays.copyOfRange(tokens, (int) start, (int) start + count);
            }
        };
        long t0 = System.nanoTime();
        SequenceScorer.score(lm, source, window, (position, nll) -> {});
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The sequence cut into segments of {@code length} tokens (the last one shorter). */
    private static List<Segment> cut(int[] tokens, int length) {
        int n = tokens.length;
        int count = (n + length - 1) / length;
        List<Segment> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int start = i * length;
            int end = Math.min(n, start + length);
            out.add(new Segment("bench", i, count, start, n, Arrays.copyOfRange(tokens, start, end)));
        }
        return out;
    }

    /** ND4J's OpenMP and BLAS threads for this JVM. */
    static void setThreads(int threads) {
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
    }
}
