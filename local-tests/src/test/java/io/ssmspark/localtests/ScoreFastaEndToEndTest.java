package io.ssmspark.localtests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.jobs.Main;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.lm.SequenceScorer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * FASTA → data pipeline (Segments.cut, 3 partitions) → {@code ssm-spark score} with a DNA hybrid model (vocab 6,
 * sliding-window attention of 8 tokens, d_conv 4, chunk 4) in segments of 13 tokens → Parquet, against the
 * single-process scorer (the {@code nll} command's engine) on each record: equal to 1e-9 in fp64.
 */
class ScoreFastaEndToEndTest {
    @TempDir
    Path dir;

    private static final String BASES = "ACGT";

    @Test
    void fastaRecordsScoredInSegmentsEqualTheSingleProcessScorer() throws IOException {
        MambaConfig config = MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(6)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(1)
                        .chunkSize(4)
                        .build())
                .attnLayerIdx(List.of(2))
                .attn(AttnConfig.builder()
                        .numHeads(2)
                        .numHeadsKv(2)
                        .headDim(4)
                        .rotaryEmbDim(4)
                        .windowSize(8)
                        .build())
                .build();
        INDArray flat = ModelInit.initialize(config, 3, DataType.DOUBLE);
        Random rnd = new Random(4);
        double[] noise = new double[(int) flat.length()];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = 0.2 * rnd.nextGaussian();
        }
        INDArray params =
                flat.addi(Nd4j.createFromArray(noise)).castTo(DataType.FLOAT).castTo(DataType.DOUBLE);
        Path model = dir.resolve("model");
        Checkpoint.save(model, config, params.castTo(DataType.FLOAT));

        Map<String, int[]> records = new HashMap<>();
        StringBuilder fasta = new StringBuilder();
        int[] lengths = {300, 47, 2};
        for (int r = 0; r < lengths.length; r++) {
            String name = "rec" + r;
            int[] ids = new int[lengths[r]];
            StringBuilder seq = new StringBuilder();
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rnd.nextInt(4);
                seq.append(BASES.charAt(ids[i]));
                if (i % 60 == 59) {
                    seq.append('\n');
                }
            }
            records.put(name, ids);
            fasta.append('>').append(name).append(" test record\n").append(seq).append('\n');
        }
        Path input = dir.resolve("genome.fa");
        Files.writeString(input, fasta.toString());
        Path out = dir.resolve("scores");

        String[] conf = {
            "spark.kryo.registrationRequired",
            "true",
            "spark.ui.enabled",
            "false",
            "spark.local.dir",
            "target/spark-local"
        };
        for (int i = 0; i < conf.length; i += 2) {
            System.setProperty(conf[i], conf[i + 1]);
        }
        int code;
        try {
            code = Main.run(
                    "score",
                    "--model",
                    model.toString(),
                    "--input",
                    input.toString(),
                    "--input-format",
                    "fasta",
                    "--output",
                    out.toString(),
                    "--segment-length",
                    "13",
                    "--partitions",
                    "3",
                    "--master",
                    "local[2]",
                    "--dtype",
                    "float64");
        } finally {
            for (int i = 0; i < conf.length; i += 2) {
                System.clearProperty(conf[i]);
            }
        }
        assertEquals(0, code);

        HybridLm lm = new HybridLm(config, params);
        SparkSession spark =
                SparkSessions.builder("read-back").master("local[1]").forTests().build();
        try {
            List<Row> rows =
                    spark.read().parquet(out.resolve("tokens").toString()).collectAsList();
            assertEquals(299 + 46 + 1, rows.size());
            Map<String, double[]> got = new HashMap<>();
            for (Row row : rows) {
                int[] ids = records.get(row.getString(0));
                int position = (int) row.getLong(1);
                assertEquals(ids[position], row.getInt(2));
                got.computeIfAbsent(row.getString(0), k -> new double[ids.length - 1])[position - 1] = row.getDouble(3);
            }
            for (Map.Entry<String, int[]> e : records.entrySet()) {
                int[] ids = e.getValue();
                double[] expected = new double[ids.length - 1];
                SequenceScorer.score(
                        lm,
                        new SequenceScorer.TokenSource() {
                            @Override
                            public long length() {
                                return ids.length;
                            }

                            @Override
                            public int[] read(long start, int count) {
                                return Arrays.copyOfRange(ids, (int) start, (int) start + count);
                            }
                        },
                        50,
                        (position, nll) -> expected[(int) position - 1] = nll);
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], got.get(e.getKey())[i], 1e-9, e.getKey() + " position " + (i + 1));
                }
            }
            List<Row> summary = spark.read()
                    .parquet(out.resolve("summary").toString())
                    .orderBy("sequence_id")
                    .collectAsList();
            assertEquals(
                    List.of("rec0", "rec1", "rec2"),
                    summary.stream().map(r -> r.getString(0)).toList());
            assertEquals(
                    List.of(300L, 47L, 2L),
                    summary.stream().map(r -> r.getLong(1)).toList());
            assertEquals(
                    List.of(299L, 46L, 1L),
                    summary.stream().map(r -> r.getLong(2)).toList());
        } finally {
            spark.stop();
        }
    }
}
