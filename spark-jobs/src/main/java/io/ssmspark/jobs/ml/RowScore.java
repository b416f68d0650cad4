package io.ssmspark.jobs.ml;

import io.ssmspark.jobs.spark.ExecutorModels;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.model.lm.HybridLm;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.collection.Seq;

/**
 * The UDF of {@link SsmScoreTransformer}: one row's {@code array<int>} tokens scored whole ({@link WholeSequenceScore})
 * into a struct of the per-token NLL, the mean NLL and, when asked, the embeddings; null tokens give null.
 */
final class RowScore implements UDF1<Seq<Integer>, Row> {
    private static final long serialVersionUID = 1L;
    static final String NLL = "nll";
    static final String MEAN_NLL = "mean_nll";
    static final String EMBEDDINGS = "embeddings";
    /** Rows this JVM has scored (a test counts that each row is scored once). */
    static final AtomicLong SCORED = new AtomicLong();

    private final Broadcast<ModelBlob> model;
    private final String column;
    private final boolean withEmbeddings;
    /** This copy's model: a task deserializes its own copy of the UDF, so the task binds its GPU once, not per row. */
    private transient HybridLm lm;

    RowScore(Broadcast<ModelBlob> model, String column, boolean withEmbeddings) {
        this.model = model;
        this.column = column;
        this.withEmbeddings = withEmbeddings;
    }

    static StructType resultType(boolean withEmbeddings) {
        StructType t = DataTypes.createStructType(new StructField[] {
            DataTypes.createStructField(NLL, DataTypes.createArrayType(DataTypes.DoubleType, false), false),
            DataTypes.createStructField(MEAN_NLL, DataTypes.DoubleType, false)
        });
        return withEmbeddings
                ? t.add(DataTypes.createStructField(
                        EMBEDDINGS,
                        DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType, false), false),
                        false))
                : t;
    }

    @Override
    public Row call(Seq<Integer> list) {
        if (list == null) {
            return null;
        }
        int[] tokens = new int[list.size()];
        for (int i = 0; i < tokens.length; i++) {
            Integer t = list.apply(i);
            if (t == null) {
                throw new IllegalArgumentException("column '" + column + "': element " + i + " is null");
            }
            tokens[i] = t;
        }
        WholeSequenceScore s;
        try {
            // Spark's optimizer runs a UDF over a local relation on the driver (ConvertToLocalRelation), outside any
            // task
            if (lm == null) {
                lm = TaskContext.get() != null ? ExecutorModels.forTask(model) : ExecutorModels.of(model);
            }
            s = WholeSequenceScore.of(lm, tokens, withEmbeddings);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("column '" + column + "': " + e.getMessage(), e);
        }
        SCORED.incrementAndGet();
        return withEmbeddings
                ? RowFactory.create(s.nll(), s.mean(), s.embeddings())
                : RowFactory.create(s.nll(), s.mean());
    }
}
