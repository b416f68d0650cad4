package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.Segment;
import io.ssmspark.jobs.bench.ScoreCosts;
import io.ssmspark.jobs.bench.ScoreProjection;
import io.ssmspark.jobs.bench.ScoreShape;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.mixer.Mamba2Mixer;
import io.ssmspark.model.mixer.S4dMixer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Sequence-parallel scoring equals one process scoring each sequence whole, for pure-Mamba and hybrid models (full
 * and sliding-window attention), and S4D models (alone and hybrid), 1, 2, 3 and 7 segments with uneven lengths that are not multiples of the chunk
 * (4), segments shorter than d_conv − 1 (3) and than the window, and several sequences at once. Kryo registration
 * is required.
 */
class SequenceParallelScorerTest {
    private static SparkSession spark;
    private static JavaSparkContext jsc;

    /** A 41-token sequence cut into 1, 2, 3 and 7 segments (7: lengths 5, 1, 2, 9, 3, 6, 15). */
    private static final int[][] CUTS = {{}, {17}, {6, 7}, {5, 6, 8, 17, 20, 26}};
    /** Tasks scoring at once (one wave's segments): 1 runs the segments one after another, 3 as many as slots. */
    private static final int[] WIDTHS = {1, 2, 3};

    @BeforeAll
    static void start() {
        spark = SparkSessions.builder("score-test")
                .master("local[3,4]")
                .forTests()
                .build(); // 3 slots, 4 attempts
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void pureMambaFp32WithinTwoTenThousandths() {
        check(ScoreTestModels.config(false, null), DataType.FLOAT, 2e-4);
    }

    @Test
    void pureMambaFp64WithinRounding() {
        check(ScoreTestModels.config(false, null), DataType.DOUBLE, 1e-10);
    }

    @Test
    void hybridFullAttentionFp32AndFp64() {
        check(ScoreTestModels.config(true, null), DataType.FLOAT, 2e-4);
        check(ScoreTestModels.config(true, null), DataType.DOUBLE, 1e-10);
    }

    @Test
    void hybridSlidingWindowLongerThanShortSegments() {
        check(ScoreTestModels.config(true, 5), DataType.FLOAT, 2e-4, StorageLevel.MEMORY_ONLY());
        // on disk: every segment passes through Kryo (registration required) between layers
        check(ScoreTestModels.config(true, 5), DataType.DOUBLE, 1e-10, StorageLevel.DISK_ONLY());
    }

    /** S4D (conjugate pairs; and real modes), alone and with full and sliding-window attention. */
    @Test
    void s4dModelsFp32WithinTwoTenThousandthsAndFp64() {
        check(ScoreTestModels.s4dConfig(S4dConfig.Init.LIN, false, null), DataType.FLOAT, 2e-4);
        check(ScoreTestModels.s4dConfig(S4dConfig.Init.LIN, false, null), DataType.DOUBLE, 1e-10);
        check(ScoreTestModels.s4dConfig(S4dConfig.Init.REAL, false, null), DataType.FLOAT, 2e-4);
        check(ScoreTestModels.s4dConfig(S4dConfig.Init.INV, true, null), DataType.FLOAT, 2e-4);
        check(ScoreTestModels.s4dConfig(S4dConfig.Init.INV, true, 5), DataType.DOUBLE, 1e-10, StorageLevel.DISK_ONLY());
    }

    /**
     * The driver folds each round and answers every task with its own halo and state: the bytes that cross, up and
     * down, are what the scoring cost model counts (ScoreProjection, the built prefix design), for a hybrid with full
     * attention (whose halo grows with the tokens before a segment), and the same for 1, 2 and 3 tasks.
     */
    @Test
    void theBytesExchangedAreTheCostModelsWhateverTheTasks() {
        MambaConfig c = ScoreTestModels.config(true, null);
        ModelBlob blob = ModelBlob.of(c, ScoreTestModels.parameters(c, 5).castTo(DataType.FLOAT));
        int[] tokens = ScoreTestModels.tokens(6, 41, c.vocabSize());
        HybridLm model = blob.newModel();
        ScoreProjection projection = new ScoreProjection(
                new ScoreCosts(8, 1, 0, 0, 0, 0, 0, 0, 0, 1e-4, 0, 1e9, 0, 0), ScoreShape.of(model));
        for (int width : WIDTHS) {
            long[] expected = projection.exchangedValueBytesPerLayer(new ScoreProjection.Setup(width, 41, 8, 0, 2));
            SequenceParallelScorer.Result r = new SequenceParallelScorer(
                            jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, width)
                    .score(jsc.parallelize(ScoreTestModels.cut("long", tokens, 8, 16, 24, 32, 40), 2));
            try {
                for (ExchangeStats e : r.exchanges()) {
                    assertEquals(expected[e.layer()], e.total(), e.kind() + " layer " + e.layer() + ", tasks " + width);
                }
            } finally {
                r.release();
            }
        }
    }

    /**
     * A task failing in the middle of the waves (the others wait for it in an exchange): Spark retries the barrier
     * stage and the scores are those of a clean run.
     */
    @Test
    void aTaskFailingMidSequenceGivesTheCleanResult() {
        MambaConfig c = ScoreTestModels.config(false, null);
        INDArray params = ScoreTestModels.parameters(c, 11);
        int[] tokens = ScoreTestModels.tokens(3, 41, c.vocabSize());
        double[] expect = ScoreTestModels.wholeSequenceNll(new HybridLm(c, params.castTo(DataType.DOUBLE)), tokens);
        ModelBlob blob = ModelBlob.of(c, params.castTo(DataType.DOUBLE));
        List<Integer> failedTasks = new ArrayList<>();
        SparkListener failures = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (!end.taskInfo().successful()) {
                    synchronized (failedTasks) {
                        failedTasks.add(end.taskInfo().index());
                    }
                }
            }
        };
        spark.sparkContext().addSparkListener(failures);
        try {
            SequenceParallelScorer.Result r = new SequenceParallelScorer(
                            jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, 3)
                    .failFirstAttempt(1, 2)
                    .score(jsc.parallelize(ScoreTestModels.cut("long", tokens, CUTS[3]), 2));
            double[] got = new double[tokens.length - 1];
            for (ScoredSegment s : r.scored().collect()) {
                System.arraycopy(s.nll, 0, got, (int) s.start, s.nll.length);
            }
            r.release();
            assertEquals(0, maxAbsDiff(expect, got), 1e-10);
            // 7 segments on 3 tasks: waves 0, 1, 2, each committed; the retry starts at the failed wave 1
            assertEquals(List.of(0, 1), r.attemptStarts(), "the wave each stage attempt started from");

            // committed every 2 waves: a failure in wave 2 (its own group) retries wave 2 only, one in wave 1 all
            for (int[] failAndStart : new int[][] {{2, 2}, {1, 0}}) {
                SequenceParallelScorer.Result pairs = new SequenceParallelScorer(
                                jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, 3)
                        .progressIn(null, false, 2)
                        .failFirstAttempt(failAndStart[0], 0)
                        .score(jsc.parallelize(ScoreTestModels.cut("long", tokens, CUTS[3]), 2));
                double[] again = new double[tokens.length - 1];
                for (ScoredSegment s : pairs.scored().collect()) {
                    System.arraycopy(s.nll, 0, again, (int) s.start, s.nll.length);
                }
                pairs.release();
                assertArrayEquals(got, again, "the scores of a run without failures, bit for bit");
                assertEquals(List.of(0, failAndStart[1]), pairs.attemptStarts());
            }
        } finally {
            spark.sparkContext().removeSparkListener(failures);
        }
        synchronized (failedTasks) {
            assertTrue(failedTasks.contains(2), "the injected failure happened: failed task indices " + failedTasks);
        }
    }

    /**
     * A run whose driver was lost after its second commit (here: a finished run's progress directory with its last
     * commit record removed, so its last group's files are uncommitted) resumes at the third wave, with the carries
     * of the second commit, and gives the scores of the uninterrupted run bit for bit; a run with other settings is
     * refused, naming the setting.
     */
    @Test
    void aResumedRunStartsAfterTheLastCommitAndScoresAsOne(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        MambaConfig c = ScoreTestModels.config(true, 5);
        ModelBlob blob = ModelBlob.of(c, ScoreTestModels.parameters(c, 13).castTo(DataType.FLOAT));
        int[] tokens = ScoreTestModels.tokens(9, 41, c.vocabSize());
        List<Segment> segments = new ArrayList<>(ScoreTestModels.cut("long", tokens, CUTS[3]));
        segments.addAll(ScoreTestModels.cut("short", ScoreTestModels.tokens(4, 3, c.vocabSize())));
        String dir = tmp.resolve("progress").toString();
        SequenceParallelScorer.Result whole = new SequenceParallelScorer(
                        jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, 2)
                .progressIn(dir, false, 1)
                .score(jsc.parallelize(segments, 2));
        Map<Integer, double[]> expected = byOrdinal(whole);
        whole.release();
        assertEquals(List.of(0), whole.attemptStarts());
        java.nio.file.Path commits = tmp.resolve("progress/commits");
        assertEquals(
                4,
                java.nio.file.Files.list(commits)
                        .filter(f -> f.getFileName().toString().startsWith("commit-"))
                        .count(),
                "8 segments on 2 tasks: 4 waves, 4 commits");
        java.nio.file.Files.delete(commits.resolve("commit-000003.bin"));
        java.nio.file.Files.delete(commits.resolve("commit-000002.bin"));

        IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> new SequenceParallelScorer(jsc, blob, StorageLevel.MEMORY_ONLY(), 3, false, 2)
                        .progressIn(dir, true, 1)
                        .score(jsc.parallelize(segments, 2)));
        assertTrue(
                refused.getMessage().contains("was started with --top-k 0, but this run has 3"), refused.getMessage());
        IllegalArgumentException fresh = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> new SequenceParallelScorer(jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, 2)
                        .progressIn(dir, false, 1)
                        .score(jsc.parallelize(segments, 2)));
        assertTrue(fresh.getMessage().contains("resume it with --resume"), fresh.getMessage());

        SequenceParallelScorer.Result resumed = new SequenceParallelScorer(
                        jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, 2)
                .progressIn(dir, true, 1)
                .score(jsc.parallelize(segments, 2));
        Map<Integer, double[]> got = byOrdinal(resumed);
        resumed.release();
        assertEquals(List.of(2), resumed.attemptStarts(), "waves 0 and 1 were committed: none of them is recomputed");
        assertEquals(expected.keySet(), got.keySet(), "every segment once");
        for (Map.Entry<Integer, double[]> e : expected.entrySet()) {
            assertArrayEquals(e.getValue(), got.get(e.getKey()), "segment " + e.getKey());
        }
        assertEquals(whole.summaries(), resumed.summaries());
    }

    private static Map<Integer, double[]> byOrdinal(SequenceParallelScorer.Result r) {
        Map<Integer, double[]> out = new HashMap<>();
        for (ScoredSegment s : r.scored().collect()) {
            assertEquals(null, out.put(s.ordinal, s.nll), "segment " + s.ordinal + " twice");
        }
        return out;
    }

    /**
     * Progress lines while 7 + 1 segments are scored on 2 tasks (4 waves of the hybrid's 3 layers), one every
     * millisecond: the percentage and the counts never go back, the totals are right, the last line says everything
     * is done, and the exchange saw exactly the rounds the progress lines count.
     */
    @Test
    void progressLinesFollowTheWavesAndLayersToTheEnd() {
        MambaConfig c = ScoreTestModels.config(true, null);
        ModelBlob blob = ModelBlob.of(c, ScoreTestModels.parameters(c, 11).castTo(DataType.FLOAT));
        List<Segment> segments =
                new ArrayList<>(ScoreTestModels.cut("long", ScoreTestModels.tokens(3, 41, c.vocabSize()), CUTS[3]));
        segments.addAll(ScoreTestModels.cut("short", ScoreTestModels.tokens(4, 3, c.vocabSize())));
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        SequenceParallelScorer.Result r = new SequenceParallelScorer(jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, 2)
                .progressTo(lines::add, 1_000_000L)
                .score(jsc.parallelize(segments, 2));
        long rounds = r.hub().rounds().completed();
        long expectedRounds =
                new RoundSchedule(new SegmentWaves(2, 8), WaveTask.roundsPerLayer(blob.newModel()), 1).rounds(0);
        r.release();
        assertEquals(1 + 4 * (2 + 1 + 2 + 1), expectedRounds); // start; per wave its layers' rounds and a commit
        assertEquals(expectedRounds, rounds, "rounds the exchange completed");

        Pattern form = Pattern.compile("(\\d+\\.\\d)%  wave (\\d)/4  layer (\\d)/3  "
                + "segments (\\d)/8  tokens (\\d+)/44  tokens/s \\d+  elapsed \\d:\\d\\d:\\d\\d  ETA (\\d:\\d\\d:\\d\\d|\\?)"
                + "(  exchange wait \\d+%)?  committed \\d/4 waves");
        assertTrue(lines.size() >= 2, "progress lines: " + lines);
        double[] previous = new double[5];
        for (String line : lines) {
            Matcher m = form.matcher(line);
            assertTrue(m.matches(), line);
            double[] now = new double[5];
            for (int i = 0; i < 5; i++) {
                now[i] = Double.parseDouble(m.group(i + 1));
            }
            assertTrue(
                    now[0] >= previous[0] && now[1] >= previous[1] && now[3] >= previous[3] && now[4] >= previous[4],
                    "never back: " + line + " after " + Arrays.toString(previous));
            previous = now;
        }
        assertEquals(
                "100.0%  wave 4/4  layer 3/3  segments 8/8  tokens 44/44",
                lines.get(lines.size() - 1)
                        .substring(0, "100.0%  wave 4/4  layer 3/3  segments 8/8  tokens 44/44".length()));
        assertTrue(
                lines.get(lines.size() - 1).matches(".*ETA 0:00:00  exchange wait \\d+%  committed 4/4 waves"),
                lines.get(lines.size() - 1));
    }

    /**
     * More segments at once than local[3,4]'s 3 task slots: refused at once with the numbers, instead of Spark
     * retrying the barrier stage's slot check for about ten minutes.
     */
    @Test
    void moreParallelSegmentsThanLocalSlotsIsRefusedAtOnce() {
        MambaConfig c = ScoreTestModels.config(false, null);
        ModelBlob blob = ModelBlob.of(c, ScoreTestModels.parameters(c, 11).castTo(DataType.FLOAT));
        int[] tokens = ScoreTestModels.tokens(3, 41, c.vocabSize());
        long t0 = System.nanoTime();
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> new SequenceParallelScorer(jsc, blob, StorageLevel.MEMORY_ONLY(), 0, false, 4)
                        .score(jsc.parallelize(ScoreTestModels.cut("long", tokens, CUTS[3]), 2)));
        assertEquals(
                "--parallel-segments: 4 segments scored at once need 4 task slots, but local[3,4] has 3; use "
                        + "--parallel-segments 3 or fewer, or a master with more slots",
                e.getMessage());
        assertTrue(System.nanoTime() - t0 < 30_000_000_000L, "refused without waiting");
    }

    /** Each cut of the long sequence, scored together with a 3-token and a 1-token sequence (each whole). */
    private static void check(MambaConfig c, DataType dtype, double tolerance) {
        check(c, dtype, tolerance, StorageLevel.MEMORY_ONLY());
    }

    private static void check(MambaConfig c, DataType dtype, double tolerance, StorageLevel storage) {
        INDArray params = ScoreTestModels.parameters(c, 11);
        HybridLm reference = new HybridLm(c, params.castTo(dtype));
        int[] longSeq = ScoreTestModels.tokens(3, 41, c.vocabSize());
        int[] shortSeq = ScoreTestModels.tokens(4, 3, c.vocabSize());
        double[] expectLong = ScoreTestModels.wholeSequenceNll(reference, longSeq);
        double[] expectShort = ScoreTestModels.wholeSequenceNll(reference, shortSeq);
        ModelBlob blob = ModelBlob.of(c, params.castTo(dtype));
        for (int[] cuts : CUTS) {
            for (int width : WIDTHS) {
                checkCut(c, dtype, tolerance, storage, blob, cuts, width, longSeq, shortSeq, expectLong, expectShort);
            }
        }
    }

    private static void checkCut(
            MambaConfig c,
            DataType dtype,
            double tolerance,
            StorageLevel storage,
            ModelBlob blob,
            int[] cuts,
            int width,
            int[] longSeq,
            int[] shortSeq,
            double[] expectLong,
            double[] expectShort) {
        List<Segment> segments = new ArrayList<>(ScoreTestModels.cut("long", longSeq, cuts));
        segments.addAll(ScoreTestModels.cut("short", shortSeq));
        segments.addAll(ScoreTestModels.cut("one", new int[] {2}));
        SequenceParallelScorer.Result r =
                new SequenceParallelScorer(jsc, blob, storage, 0, false, width).score(jsc.parallelize(segments, 3));
        Map<String, double[]> got = new HashMap<>();
        got.put("long", new double[longSeq.length - 1]);
        got.put("short", new double[shortSeq.length - 1]);
        got.put("one", new double[0]);
        int rows = 0;
        for (ScoredSegment s : r.scored().collect()) {
            for (int j = 0; j < s.nll.length; j++) {
                got.get(s.sequenceId)[(int) s.start + j] = s.nll[j]; // position start + j + 1 → index start + j
                rows++;
            }
        }
        r.release();
        assertEquals(40 + 2, rows, "scored positions");
        String what = c.ssm().layer()
                + (c.attnLayerIdx().isEmpty()
                        ? ""
                        : " hybrid window=" + c.attn().windowSize())
                + " " + dtype
                + " cuts " + java.util.Arrays.toString(cuts) + " tasks " + width;
        double diff = Math.max(maxAbsDiff(expectLong, got.get("long")), maxAbsDiff(expectShort, got.get("short")));
        System.out.printf("score equality: %s max |dNLL| = %.3g%n", what, diff);
        assertEquals(0, maxAbsDiff(expectLong, got.get("long")), tolerance, what);
        assertEquals(0, maxAbsDiff(expectShort, got.get("short")), tolerance, what);

        SequenceSummary longSummary = r.summaries().stream()
                .filter(s -> s.sequenceId().equals("long"))
                .findFirst()
                .orElseThrow();
        assertEquals(41, longSummary.tokens());
        assertEquals(40, longSummary.positions());
        assertEquals(mean(expectLong), longSummary.meanNll(), 40 * tolerance);
        assertEquals(longSummary.meanNll() / Math.log(2), longSummary.bitsPerToken(), 1e-12);
        SequenceSummary one = r.summaries().stream()
                .filter(s -> s.sequenceId().equals("one"))
                .findFirst()
                .orElseThrow();
        assertEquals(0, one.positions());
        assertTrue(Double.isNaN(one.meanNll()));
        long ssmLayers = c.nLayer() - c.attnLayerIdx().size();
        String ssmKind = c.ssm().s4d() != null ? "s4d" : "mamba2";
        assertEquals(c.nLayer(), r.exchanges().size());
        assertEquals(
                ssmLayers,
                r.exchanges().stream().filter(e -> e.kind().equals(ssmKind)).count());
        long valueBytes = dtype == DataType.DOUBLE ? 8 : 4;
        long expectUp = 0;
        long expectDown = 0;
        int previous = 0;
        for (int cut : cuts) {
            if (ssmKind.equals("s4d")) {
                // per S4D layer every segment but a sequence's last sends its summary only (no halo rows): alpha and E,
                // H.M complex values each; every segment but the first gets its initial state (H.M complex values)
                S4dMixer.Spec sp = ((S4dMixer) blob.newModel().mixer(0)).spec();
                expectUp += 2L * 2 * sp.dModel() * sp.modes() * valueBytes;
                expectDown += 2L * sp.dModel() * sp.modes() * valueBytes;
            } else {
                // per Mamba2 layer every segment but a sequence's last sends its last min(K-1, T) pre-conv rows and its
                // summary (H + H.P.N values); whole sequences send nothing
                Mamba2Mixer.Spec sp = blob.newModel().mixerSpec();
                expectUp += (Math.min(sp.convKernel() - 1, cut - previous) * (long) sp.convDim()
                                + sp.heads()
                                + (long) sp.heads() * sp.headDim() * sp.dState())
                        * valueBytes;
                // and the segment after it gets back its halo, the last min(K-1, tokens before it) rows, and its
                // initial state (H.P.N values): from the driver's fold, whatever the number of tasks
                expectDown += (Math.min(sp.convKernel() - 1, cut) * (long) sp.convDim()
                                + (long) sp.heads() * sp.headDim() * sp.dState())
                        * valueBytes;
            }
            previous = cut;
        }
        for (ExchangeStats e : r.exchanges()) {
            if (e.kind().equals(ssmKind)) {
                assertEquals(expectUp, e.bytesUp(), what + " layer " + e.layer());
                assertEquals(expectDown, e.bytesDown(), what + " layer " + e.layer());
            } else if (cuts.length == 0) {
                assertEquals(0, e.total(), what + " layer " + e.layer());
            }
        }
    }

    private static double maxAbsDiff(double[] a, double[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static double mean(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s / a.length;
    }
}
