package io.ssmspark.data.source;

import io.ssmspark.data.BadRecord;
import io.ssmspark.data.BadRecordException;
import io.ssmspark.data.ReadItem;
import io.ssmspark.data.ReadOptions;
import io.ssmspark.data.TokenChunk;
import io.ssmspark.data.Vocabulary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads Parquet files through Spark SQL: an {@code array<int>} token column and an id column
 * (string or integer). Each file's schema is checked on the driver first; a row is a record, its
 * offset is the row index within the file (Spark's {@code _metadata.row_index}).
 */
public final class ParquetSource {
    private ParquetSource() {}

    public static JavaRDD<ReadItem> items(
            SparkSession spark,
            List<FileStatus> files,
            ReadOptions options,
            Vocabulary vocabulary,
            List<BadRecord> badFiles)
            throws IOException {
        Map<String, Integer> indexOfPath = new HashMap<>();
        List<String> good = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            String path = files.get(i).getPath().toString();
            BadRecord problem = files.get(i).getLen() == 0
                    ? new BadRecord(path, Ordinals.of(i, 0), "byte", 0, "empty file: expected a Parquet file")
                    : schemaProblem(spark, path, i, options);
            if (problem != null) {
                if (!options.skipBadRecords()) {
                    throw new BadRecordException(problem);
                }
                badFiles.add(problem);
                continue;
            }
            indexOfPath.put(path, i);
            good.add(path);
        }
        if (good.isEmpty()) {
            return org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext())
                    .emptyRDD();
        }
        JavaRDD<Row> rows = spark.read()
                .parquet(good.toArray(new String[0]))
                .select(
                        functions.col(options.idColumn()).cast("string"),
                        functions.col(options.tokenColumn()),
                        functions.col("_metadata.file_path"),
                        functions.col("_metadata.row_index"))
                .javaRDD();
        int maxChunk = options.maxChunkTokens();
        boolean skip = options.skipBadRecords();
        String idColumn = options.idColumn();
        String tokenColumn = options.tokenColumn();
        JavaRDD<ReadItem> items = rows.flatMap(row -> {
            String path = normalise(row.getString(2));
            Integer fileIndex = indexOfPath.get(path);
            if (fileIndex == null) {
                throw new IllegalStateException("Spark read a row from " + path
                        + ", which is not among the listed files " + indexOfPath.keySet());
            }
            return toItems(row, path, fileIndex, vocabulary, maxChunk, skip, idColumn, tokenColumn);
        });
        // Spark SQL picks the scan's partitions; results do not depend on them, but honour the option.
        return options.partitions() > 0 ? items.repartition(options.partitions()) : items;
    }

    private static BadRecord schemaProblem(SparkSession spark, String path, int fileIndex, ReadOptions options) {
        StructType schema;
        try {
            schema = spark.read().parquet(path).schema();
        } catch (RuntimeException e) {
            return new BadRecord(
                    path, Ordinals.of(fileIndex, 0), "byte", 0, "not a readable Parquet file: " + e.getMessage());
        }
        String tokens = options.tokenColumn();
        String id = options.idColumn();
        if (!Arrays.asList(schema.fieldNames()).contains(tokens)) {
            return new BadRecord(
                    path,
                    Ordinals.of(fileIndex, 0),
                    "row",
                    0,
                    "no token column '" + tokens + "'; the file has columns " + Arrays.toString(schema.fieldNames()));
        }
        if (!Arrays.asList(schema.fieldNames()).contains(id)) {
            return new BadRecord(
                    path,
                    Ordinals.of(fileIndex, 0),
                    "row",
                    0,
                    "no id column '" + id + "'; the file has columns " + Arrays.toString(schema.fieldNames()));
        }
        DataType tokenType = schema.apply(tokens).dataType();
        if (!(tokenType instanceof ArrayType)
                || !((ArrayType) tokenType).elementType().equals(DataTypes.IntegerType)) {
            return new BadRecord(
                    path,
                    Ordinals.of(fileIndex, 0),
                    "row",
                    0,
                    "token column '" + tokens + "' has type " + tokenType.simpleString() + ", expected array<int>");
        }
        StructField idField = schema.apply(id);
        DataType idType = idField.dataType();
        if (!idType.equals(DataTypes.StringType)
                && !idType.equals(DataTypes.IntegerType)
                && !idType.equals(DataTypes.LongType)) {
            return new BadRecord(
                    path,
                    Ordinals.of(fileIndex, 0),
                    "row",
                    0,
                    "id column '" + id + "' has type " + idType.simpleString() + ", expected string, int or bigint");
        }
        return null;
    }

    static String normalise(String sparkPath) {
        try {
            return new Path(new URI(sparkPath)).toString();
        } catch (URISyntaxException e) {
            return new Path(sparkPath).toString();
        }
    }

    private static Iterator<ReadItem> toItems(
            Row row,
            String path,
            int fileIndex,
            Vocabulary vocabulary,
            int maxChunk,
            boolean skip,
            String idColumn,
            String tokenColumn) {
        long rowIndex = row.getLong(3);
        long ordinal = Ordinals.of(fileIndex, rowIndex);
        String problem = null;
        int[] tokens = null;
        if (row.isNullAt(0)) {
            problem = "id column '" + idColumn + "' is null";
        } else if (row.isNullAt(1)) {
            problem = "token column '" + tokenColumn + "' is null";
        } else {
            List<Integer> list = row.getList(1);
            tokens = new int[list.size()];
            for (int e = 0; e < tokens.length && problem == null; e++) {
                Integer t = list.get(e);
                if (t == null) {
                    problem = "token column '" + tokenColumn + "': element " + e + " is null";
                } else if (!vocabulary.contains(t)) {
                    problem = "token column '" + tokenColumn + "': element " + e + " is token id " + t
                            + ", outside the vocabulary [0, " + vocabulary.size() + ")";
                } else {
                    tokens[e] = t;
                }
            }
        }
        if (problem != null) {
            BadRecord bad = new BadRecord(path, ordinal, "row", rowIndex, problem);
            if (!skip) {
                throw new UncheckedIOException(new BadRecordException(bad));
            }
            return List.of(ReadItem.of(bad)).iterator();
        }
        String id = row.getString(0);
        List<ReadItem> out = new ArrayList<>();
        for (int s = 0; s < tokens.length || s == 0; s += maxChunk) {
            int e = Math.min(tokens.length, s + maxChunk);
            out.add(ReadItem.of(new TokenChunk(id, ordinal, s, Arrays.copyOfRange(tokens, s, e), e == tokens.length)));
        }
        return out.iterator();
    }
}
