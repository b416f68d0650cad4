package io.ssmspark.jobs.score;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The score outputs as DataFrames: one row per scored position ({@code sequence_id, position, token, nll}, then
 * {@code embedding} array&lt;float&gt; and {@code top_k} array&lt;int&gt; when asked for) and one summary row per
 * sequence ({@code sequence_id, tokens, scored_positions, mean_nll, perplexity, bits_per_token}).
 */
public final class ScoreTables {
    private ScoreTables() {}

    public static StructType tokenSchema(boolean withEmbeddings, boolean withTopK) {
        List<StructField> f = new ArrayList<>(List.of(
                DataTypes.createStructField("sequence_id", DataTypes.StringType, false),
                DataTypes.createStructField("position", DataTypes.LongType, false),
                DataTypes.createStructField("token", DataTypes.IntegerType, false),
                DataTypes.createStructField("nll", DataTypes.DoubleType, false)));
        if (withEmbeddings) {
            f.add(DataTypes.createStructField(
                    "embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false));
        }
        if (withTopK) {
            f.add(DataTypes.createStructField("top_k", DataTypes.createArrayType(DataTypes.IntegerType, false), false));
        }
        return DataTypes.createStructType(f);
    }

    public static Dataset<Row> tokens(
            SparkSession spark, JavaRDD<ScoredSegment> scored, boolean withEmbeddings, boolean withTopK) {
        // rows are made one at a time as the writer pulls them, not a whole segment's worth at once
        JavaRDD<Row> rows = scored.flatMap(s -> IntStream.range(0, s.nll.length)
                .mapToObj(j -> row(s, j, withEmbeddings, withTopK))
                .iterator());
        return spark.createDataFrame(rows, tokenSchema(withEmbeddings, withTopK));
    }

    /** The row of the segment's j-th scored position. */
    private static Row row(ScoredSegment s, int j, boolean withEmbeddings, boolean withTopK) {
        List<Object> v = new ArrayList<>(List.of(s.sequenceId, s.start + j + 1, s.targets[j], s.nll[j]));
        if (withEmbeddings) {
            Float[] e = new Float[s.embeddingDim];
            for (int i = 0; i < e.length; i++) {
                e[i] = s.embeddings[j * s.embeddingDim + i];
            }
            v.add(e);
        }
        if (withTopK) {
            Integer[] k = new Integer[s.topK];
            for (int i = 0; i < k.length; i++) {
                k[i] = s.topIds[j * s.topK + i];
            }
            v.add(k);
        }
        return RowFactory.create(v.toArray());
    }

    /**
     * {@code tokens} with a {@code token_text} column after the others: each token id's text under {@code
     * tokenizer} (which travels to the executors with the function).
     */
    public static Dataset<Row> withTokenText(Dataset<Row> tokens, io.ssmspark.data.TextTokenizer tokenizer) {
        org.apache.spark.sql.expressions.UserDefinedFunction text = org.apache.spark.sql.functions.udf(
                (org.apache.spark.sql.api.java.UDF1<Integer, String>) tokenizer::tokenText, DataTypes.StringType);
        return tokens.withColumn("token_text", text.apply(tokens.col("token")));
    }

    public static Dataset<Row> summary(SparkSession spark, List<SequenceSummary> summaries) {
        StructType schema = DataTypes.createStructType(List.of(
                DataTypes.createStructField("sequence_id", DataTypes.StringType, false),
                DataTypes.createStructField("tokens", DataTypes.LongType, false),
                DataTypes.createStructField("scored_positions", DataTypes.LongType, false),
                DataTypes.createStructField("mean_nll", DataTypes.DoubleType, false),
                DataTypes.createStructField("perplexity", DataTypes.DoubleType, false),
                DataTypes.createStructField("bits_per_token", DataTypes.DoubleType, false)));
        List<Row> rows = new ArrayList<>();
        for (SequenceSummary s : summaries) {
            rows.add(RowFactory.create(
                    s.sequenceId(), s.tokens(), s.positions(), s.meanNll(), s.perplexity(), s.bitsPerToken()));
        }
        return spark.createDataFrame(rows, schema);
    }
}
