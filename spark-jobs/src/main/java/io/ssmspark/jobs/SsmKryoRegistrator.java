package io.ssmspark.jobs;

import com.esotericsoftware.kryo.Kryo;
import io.ssmspark.data.DataKryoClasses;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers every class of ours that crosses Spark's wire, plus the Spark SQL and JDK classes our
 * jobs send that Spark does not register itself, so jobs can run with
 * {@code spark.kryo.registrationRequired=true} (the tests do). Each job package adds its own classes
 * to {@link #JOB_CLASSES}.
 */
public final class SsmKryoRegistrator implements KryoRegistrator {

  /** Classes of the job packages that travel (task closures' results, RDD records, broadcasts). */
  public static final List<Class<?>> JOB_CLASSES = Collections.unmodifiableList(new ArrayList<>(List.of(
      float[].class,
      double[].class,
      int[].class,
      int[][].class,
      long[].class,
      byte[].class,
      byte[][].class,
      Object[].class,
      String[].class,
      // io.ssmspark.jobs.train: the broadcast parameters and the tasks' results
      io.ssmspark.jobs.train.FlatParameters.class,
      io.ssmspark.jobs.train.PartitionResult.class,
      io.ssmspark.jobs.train.ScalarSum.class)));

  /** Classes Spark itself sends in our jobs (Parquet schema inference) that it leaves unregistered. */
  public static final List<String> SPARK_CLASS_NAMES = List.of(
      "org.apache.spark.sql.types.StructType",
      "[Lorg.apache.spark.sql.types.StructType;",
      "org.apache.spark.sql.types.StructField",
      "[Lorg.apache.spark.sql.types.StructField;",
      "org.apache.spark.sql.types.ArrayType",
      "org.apache.spark.sql.types.IntegerType$",
      "org.apache.spark.sql.types.LongType$",
      "org.apache.spark.sql.types.StringType$",
      "org.apache.spark.sql.types.DoubleType$",
      "org.apache.spark.sql.types.FloatType$",
      "org.apache.spark.sql.types.Metadata");

  @Override
  public void registerClasses(Kryo kryo) {
    for (Class<?> c : DataKryoClasses.KRYO_CLASSES) {
      kryo.register(c);
    }
    for (Class<?> c : JOB_CLASSES) {
      kryo.register(c);
    }
    for (String name : SPARK_CLASS_NAMES) {
      try {
        kryo.register(Class.forName(name, false, Thread.currentThread().getContextClassLoader()));
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("Spark class " + name + " is missing from the classpath", e);
      }
    }
  }
}
