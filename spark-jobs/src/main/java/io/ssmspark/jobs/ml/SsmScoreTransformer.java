package io.ssmspark.jobs.ml;

import io.ssmspark.jobs.spark.ExecutorModels;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.Precision;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A Spark ML {@link Transformer} that scores each row's token sequence (an {@code array<int>} column) whole, in
 * one task, with a checkpoint, adding the per-token NLL ({@code array<double>}, position i ≥ 1 given tokens
 * 0..i−1, natural log), the mean NLL ({@code double}, NaN for fewer than 2 tokens) and, when
 * {@code embeddingsCol} is set, the last hidden state of each scored position ({@code array<array<float>>}).
 * A null token array gives null outputs; a null element or an id outside the model's padded vocabulary (the ids
 * every path accepts, {@link io.ssmspark.model.lm.HybridLm#requireTokenIds}) fails the Spark
 * job, whose cause is an IllegalArgumentException naming the column, the element and the id.
 *
 * <p>Params: inputCol (default "tokens"), outputCol ("nll"), meanNllCol ("mean_nll"), embeddingsCol ("": none),
 * modelPath (a checkpoint directory the driver can read; the model reaches executors in a broadcast), dtype ("float32" or "float64"). Saves and loads
 * with {@link #write()} / {@link #load(String)}.
 */
public final class SsmScoreTransformer extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final Param<String> meanNllCol;
    private final Param<String> embeddingsCol;
    private final Param<String> modelPath;
    private final Param<String> dtype;

    public SsmScoreTransformer() {
        this(Identifiable$.MODULE$.randomUID("ssmScore"));
    }

    public SsmScoreTransformer(String uid) {
        this.uid = uid;
        inputCol = new Param<>(this, "inputCol", "token column, array<int>");
        outputCol = new Param<>(this, "outputCol", "per-token NLL column, array<double>");
        meanNllCol = new Param<>(this, "meanNllCol", "mean NLL column, double");
        embeddingsCol =
                new Param<>(this, "embeddingsCol", "last hidden state column, array<array<float>>; empty: none");
        modelPath = new Param<>(this, "modelPath", "checkpoint directory (config.json + model.safetensors)");
        dtype = new Param<>(this, "dtype", "compute precision: float32 or float64");
        setDefault(inputCol, "tokens");
        setDefault(outputCol, "nll");
        setDefault(meanNllCol, "mean_nll");
        setDefault(embeddingsCol, "");
        setDefault(dtype, "float32");
    }

    @Override
    public String uid() {
        return uid;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public Param<String> meanNllCol() {
        return meanNllCol;
    }

    public Param<String> embeddingsCol() {
        return embeddingsCol;
    }

    public Param<String> modelPath() {
        return modelPath;
    }

    public Param<String> dtype() {
        return dtype;
    }

    public SsmScoreTransformer setInputCol(String v) {
        set(inputCol, v);
        return this;
    }

    public SsmScoreTransformer setOutputCol(String v) {
        set(outputCol, v);
        return this;
    }

    public SsmScoreTransformer setMeanNllCol(String v) {
        set(meanNllCol, v);
        return this;
    }

    public SsmScoreTransformer setEmbeddingsCol(String v) {
        set(embeddingsCol, v);
        return this;
    }

    public SsmScoreTransformer setModelPath(String v) {
        set(modelPath, v);
        return this;
    }

    public SsmScoreTransformer setDtype(String v) {
        set(dtype, v);
        return this;
    }

    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    public String getMeanNllCol() {
        return getOrDefault(meanNllCol);
    }

    public String getEmbeddingsCol() {
        return getOrDefault(embeddingsCol);
    }

    public String getDtype() {
        return getOrDefault(dtype);
    }

    /** The checkpoint directory; refused when unset. */
    public String getModelPath() {
        if (!isDefined(modelPath)) {
            throw new IllegalArgumentException(
                    "SsmScoreTransformer param 'modelPath': expected a checkpoint directory " + "but it is not set");
        }
        return getOrDefault(modelPath);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String in = getInputCol();
        if (!List.of(schema.fieldNames()).contains(in)) {
            throw new IllegalArgumentException("input column '" + in + "': expected array<int> but the DataFrame has "
                    + "only " + String.join(", ", schema.fieldNames()));
        }
        org.apache.spark.sql.types.DataType type = schema.apply(in).dataType();
        if (!(type instanceof ArrayType a) || !a.elementType().equals(DataTypes.IntegerType)) {
            throw new IllegalArgumentException(
                    "input column '" + in + "': expected array<int> but found " + type.simpleString());
        }
        List<StructField> fields = new ArrayList<>(List.of(schema.fields()));
        for (String out : outputColumns()) {
            if (List.of(schema.fieldNames()).contains(out)) {
                throw new IllegalArgumentException(
                        "output column '" + out + "': expected a new column but the DataFrame " + "already has it");
            }
        }
        fields.add(DataTypes.createStructField(
                getOutputCol(), DataTypes.createArrayType(DataTypes.DoubleType, false), true));
        fields.add(DataTypes.createStructField(getMeanNllCol(), DataTypes.DoubleType, true));
        if (!getEmbeddingsCol().isEmpty()) {
            fields.add(DataTypes.createStructField(
                    getEmbeddingsCol(),
                    DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType, false), false),
                    true));
        }
        return DataTypes.createStructType(fields);
    }

    private List<String> outputColumns() {
        List<String> out = new ArrayList<>(List.of(getOutputCol(), getMeanNllCol()));
        if (!getEmbeddingsCol().isEmpty()) {
            out.add(getEmbeddingsCol());
        }
        return out;
    }

    /**
     * Loads the checkpoint on the driver (a bad one fails here, with the checkpoint's own message), broadcasts it
     * once, and adds the output columns with {@code withColumn} from one UDF that scores each row. The UDF gives all
     * outputs as one struct and is marked nondeterministic so that Spark's optimizer runs it once per row instead of
     * once per output column. The broadcast lives as long as the returned DataFrame may be computed, as Spark ML's
     * own model broadcasts do; each executor keeps its model in the bounded {@link ExecutorModels}.
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        DataType type = Precision.parse("SsmScoreTransformer param 'dtype'", getDtype());
        ModelBlob blob;
        try {
            blob = ModelBlob.load(Path.of(getModelPath()), type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Broadcast<ModelBlob> model = JavaSparkContext.fromSparkContext(
                        dataset.sparkSession().sparkContext())
                .broadcast(blob);
        boolean withEmbeddings = !getEmbeddingsCol().isEmpty();
        UserDefinedFunction score = functions
                .udf(new RowScore(model, getInputCol(), withEmbeddings), RowScore.resultType(withEmbeddings))
                .asNondeterministic();
        String scored = "__ssm_score_" + uid;
        Dataset<Row> out = dataset.toDF().withColumn(scored, score.apply(dataset.col(getInputCol())));
        out = out.withColumn(getOutputCol(), out.col(scored).getField(RowScore.NLL))
                .withColumn(getMeanNllCol(), out.col(scored).getField(RowScore.MEAN_NLL));
        if (withEmbeddings) {
            out = out.withColumn(getEmbeddingsCol(), out.col(scored).getField(RowScore.EMBEDDINGS));
        }
        return out.drop(scored);
    }

    @Override
    public SsmScoreTransformer copy(ParamMap extra) {
        return (SsmScoreTransformer) defaultCopy(extra);
    }

    public static MLReader<SsmScoreTransformer> read() {
        return new DefaultParamsReader<>();
    }

    public static SsmScoreTransformer load(String path) {
        return read().load(path);
    }
}
