package io.ssmspark.jobs.baseline;

import io.ssmspark.data.DataSpec;
import io.ssmspark.data.InputFormat;
import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.SourceData;
import io.ssmspark.data.Sources;
import io.ssmspark.data.TrainingWindows;
import io.ssmspark.data.Window;
import io.ssmspark.data.WindowOptions;
import io.ssmspark.data.synthetic.SyntheticCorpora;
import io.ssmspark.jobs.bench.BenchTiming;
import io.ssmspark.jobs.spark.SparkCleanup;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.jobs.spark.ThreadBudget;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Runs the baseline: reads the data and cuts the same training and validation windows as ssm-spark's
 * training job (same seq_len, seed, validation fraction and partitions), trains the LSTM through
 * dl4j-spark's {@link ParameterAveragingTrainingMaster} one averaging round per step (see
 * {@link TrainingRounds}) until the wall-time or step budget is spent, then scores the first
 * eval-windows validation windows.
 */
public final class Dl4jLstmBaseline {
    /** Kryo registrators the session needs: ours, and ND4J's for the INDArrays inside DL4J's DataSets. */
    public static final String KRYO_REGISTRATORS = SparkSessions.KRYO_REGISTRATOR + ",org.nd4j.kryo.Nd4jRegistrator";

    private Dl4jLstmBaseline() {}

    public static BaselineResult run(SparkSession spark, BaselineSettings s) throws IOException {
        // dl4j-spark's default time source asks an internet NTP server, which fails offline.
        System.setProperty(
                "org.deeplearning4j.spark.time.TimeSource", "org.deeplearning4j.spark.time.SystemClockTimeSource");
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int threads = ThreadBudget.apply(sc.master());

        ReadOptions read = ReadOptions.defaults().withPartitions(s.partitions());
        if (s.inputFormat() != null) {
            read = read.withFormat(InputFormat.parse(s.inputFormat()));
        }
        SourceData data = Sources.read(spark, s.data(), read);
        int vocab = data.vocabulary().size();
        TrainingWindows windows = TrainingWindows.build(
                data,
                WindowOptions.of(s.seqLen())
                        .withValidationFraction(s.validationFraction())
                        .withSeed(s.seed())
                        .withPartitions(s.partitions()));
        long trainWindows = windows.trainCounts().windows;
        long validationWindows = windows.validationCounts().windows;
        if (trainWindows == 0 || validationWindows == 0) {
            throw new IllegalArgumentException("--data " + s.data() + " with --seq-len " + s.seqLen()
                    + " and --validation-fraction " + s.validationFraction() + " gives " + trainWindows
                    + " training and " + validationWindows + " validation windows; expected at least 1 of each ("
                    + "training " + windows.trainCounts() + ", validation " + windows.validationCounts() + ")");
        }
        JavaRDD<Window> train = windows.train().persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<Window> validation = windows.validation();
        TrainingRounds rounds = new TrainingRounds(trainWindows, s.partitions(), s.batch(), s.averagingFrequency());
        MultiLayerNetwork net = LstmLanguageModel.build(vocab, s.hidden(), s.layers(), s.lr(), s.seed());

        ExportDirectory export = s.approach() == BaselineSettings.Approach.EXPORT
                ? ExportDirectory.create(s.exportParent(), sc.hadoopConfiguration())
                : null;
        try {
            ParameterAveragingTrainingMaster master = trainingMaster(s, export);
            SparkDl4jMultiLayer sparkNet = new SparkDl4jMultiLayer(sc, net, master);
            long steps = 0;
            long windowsTrained = 0;
            double firstStepSeconds = 0;
            long cpu0 = BenchTiming.processCpuNanos();
            long t0 = System.nanoTime();
            while ((s.steps() == 0 || steps < s.steps()) && (System.nanoTime() - t0) / 1e9 < s.seconds()) {
                sparkNet.fit(roundDataSets(train, rounds.firstRank(steps), rounds.endRank(steps), s.batch(), vocab));
                windowsTrained += rounds.size();
                steps++;
                if (steps == 1) {
                    firstStepSeconds = (System.nanoTime() - t0) / 1e9; // includes the JIT's and ND4J's warm-up
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpuSeconds = (BenchTiming.processCpuNanos() - cpu0) / 1e9;
            long exportBytes = export == null ? 0 : export.bytes();
            double[] nll = ValidationNll.mean(
                    sc,
                    validation,
                    sparkNet.getNetwork(),
                    Math.min(s.evalWindows(), validationWindows),
                    s.batch(),
                    vocab);
            return new BaselineResult(
                    sparkNet.getNetwork().numParams(),
                    vocab,
                    steps,
                    windowsTrained,
                    windowsTrained * s.seqLen(),
                    seconds,
                    firstStepSeconds,
                    cpuSeconds,
                    nll[0],
                    (long) nll[1],
                    (long) nll[2],
                    unigramLoss(s.data()),
                    threads,
                    exportBytes);
        } finally {
            SparkCleanup.unpersist(train);
            if (export != null) {
                export.delete();
            }
        }
    }

    private static ParameterAveragingTrainingMaster trainingMaster(BaselineSettings s, ExportDirectory export) {
        // Each DataSet of the RDD holds one minibatch (batch windows), and the rounds' RDDs are already
        // balanced over the partitions, so dl4j-spark need not repartition them.
        ParameterAveragingTrainingMaster.Builder b = new ParameterAveragingTrainingMaster.Builder(
                        s.partitions(), s.batch())
                .batchSizePerWorker(s.batch())
                .averagingFrequency(s.averagingFrequency())
                .workerPrefetchNumBatches(0)
                .repartionData(Repartition.Never)
                .collectTrainingStats(false)
                .rngSeed(s.seed());
        if (export == null) {
            b.rddTrainingApproach(RDDTrainingApproach.Direct);
        } else {
            b.rddTrainingApproach(RDDTrainingApproach.Export).exportDirectory(export.uri());
        }
        return b.build();
    }

    /** The round's windows as DataSets of one minibatch each, in rank order within each partition. */
    static JavaRDD<DataSet> roundDataSets(JavaRDD<Window> train, long firstRank, long endRank, int batch, int vocab) {
        return train.mapPartitions(it -> {
            List<Window> selected = new ArrayList<>();
            it.forEachRemaining(w -> {
                if (w.rank >= firstRank && w.rank < endRank) {
                    selected.add(w);
                }
            });
            selected.sort(Comparator.comparingLong(w -> w.rank));
            List<DataSet> out = new ArrayList<>();
            for (int from = 0; from < selected.size(); from += batch) {
                out.add(WindowDataSets.of(selected.subList(from, Math.min(selected.size(), from + batch)), vocab));
            }
            return out.iterator();
        });
    }

    /** The corpus's unigram loss (nats per token) for a synthetic:NAME spec, else NaN. */
    static double unigramLoss(String spec) {
        DataSpec parsed = DataSpec.parse(spec);
        return parsed.isSynthetic()
                ? SyntheticCorpora.create(parsed.syntheticName(), parsed.parameters())
                        .unigramLoss()
                : Double.NaN;
    }

    /** A fresh directory for dl4j-spark's exported DataSets, deleted with everything in it at the end. */
    record ExportDirectory(FileSystem fs, Path path) {
        static ExportDirectory create(String parent, org.apache.hadoop.conf.Configuration conf) throws IOException {
            Path base = new Path(parent);
            FileSystem fs = base.getFileSystem(conf);
            Path dir = fs.makeQualified(new Path(base, "dl4j-export-" + UUID.randomUUID()));
            if (!fs.mkdirs(dir)) {
                throw new IOException(dir + ": cannot create the export directory");
            }
            return new ExportDirectory(fs, dir);
        }

        String uri() {
            return path.toString();
        }

        /** Bytes written under the directory so far. */
        long bytes() throws IOException {
            return fs.getContentSummary(path).getLength();
        }

        void delete() throws IOException {
            fs.delete(path, true);
        }
    }
}
