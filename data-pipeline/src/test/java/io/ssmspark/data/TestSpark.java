package io.ssmspark.data;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * The one local[2] SparkSession shared by every test class of the module. It uses Kryo with
 * {@code registrationRequired=true}, registering exactly {@link DataKryoClasses#KRYO_CLASSES} plus
 * {@link DataKryoClasses#SPARK_CLASS_NAMES}, so every Spark test also checks that the list is complete.
 */
final class TestSpark {
    private static SparkSession session;

    private TestSpark() {}

    /** The records of each partition, in partition order (like glom(), but Kryo-friendly). */
    static <T> List<List<T>> byPartition(JavaRDD<T> rdd) {
        int n = rdd.getNumPartitions();
        List<Tuple2<Integer, T>> tagged = rdd.mapPartitionsWithIndex(
                        (i, it) -> {
                            List<Tuple2<Integer, T>> out = new ArrayList<>();
                            it.forEachRemaining(t -> out.add(new Tuple2<>(i, t)));
                            return out.iterator();
                        },
                        true)
                .collect();
        List<List<T>> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            parts.add(new ArrayList<>());
        }
        tagged.forEach(t -> parts.get(t._1()).add(t._2()));
        return parts;
    }

    static synchronized SparkSession session() {
        if (session == null) {
            List<String> names = new ArrayList<>();
            DataKryoClasses.KRYO_CLASSES.forEach(c -> names.add(c.getName()));
            names.addAll(DataKryoClasses.SPARK_CLASS_NAMES);
            session = SparkSession.builder()
                    .master("local[2]")
                    .appName("data-pipeline-tests")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.default.parallelism", "4")
                    .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                    .config("spark.kryo.registrationRequired", "true")
                    .config("spark.kryo.classesToRegister", names.stream().collect(Collectors.joining(",")))
                    .config("spark.local.dir", "target/spark-local")
                    .config("spark.sql.warehouse.dir", "target/spark-warehouse")
                    .getOrCreate();
            session.sparkContext().setLogLevel("WARN");
        }
        return session;
    }
}
