package io.ssmspark.data;

import io.ssmspark.data.source.FileSplit;
import java.util.List;

/**
 * Every class of this module that Spark serializes (RDD records, shuffle keys and values, task
 * results, broadcasts), for the jobs' Kryo registrator. A test runs the pipelines with {@code
 * spark.kryo.registrationRequired=true} and exactly this list, so a missing class fails it.
 */
public final class DataKryoClasses {
    private DataKryoClasses() {}

    public static final List<Class<?>> KRYO_CLASSES = List.of(
            TokenChunk.class,
            TokenSequence.class,
            BadRecord.class,
            BadRecord[].class,
            ReadItem.class,
            RecordSummary.class,
            PartialTable.class,
            DocumentTable.class,
            FileSplit.class,
            FragmentKey.class,
            Fragment.class,
            Window.class,
            Segment.class,
            TrainingWindows.Layout.class,
            Segments.Layout.class);

    /**
     * Classes Spark itself sends when our sources run (Spark SQL's Parquet schema inference returns
     * schemas from its tasks) that Spark's serializer does not register by default.
     */
    public static final List<String> SPARK_CLASS_NAMES = List.of(
            "org.apache.spark.sql.types.StructType",
            "[Lorg.apache.spark.sql.types.StructType;",
            "org.apache.spark.sql.types.StructField",
            "[Lorg.apache.spark.sql.types.StructField;",
            "org.apache.spark.sql.types.ArrayType",
            "org.apache.spark.sql.types.IntegerType$",
            "org.apache.spark.sql.types.LongType$",
            "org.apache.spark.sql.types.StringType$",
            "org.apache.spark.sql.types.Metadata");
}
