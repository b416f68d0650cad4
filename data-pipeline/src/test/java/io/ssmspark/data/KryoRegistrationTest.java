package io.ssmspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * The shared test session runs with Kryo, {@code registrationRequired=true} and exactly {@link
 * DataKryoClasses#KRYO_CLASSES} (plus Spark's own types). This test shows the setting is live (an
 * unregistered class fails) and runs every pipeline stage through it.
 */
class KryoRegistrationTest {
    /** Not in the list: serializing it must fail. */
    static final class Unregistered implements java.io.Serializable {
        int value = 1;
    }

    @Test
    void registrationIsRequiredAndTheListCoversTheWholePipeline() throws IOException {
        SparkSession spark = TestSpark.session();
        SparkConf conf = spark.sparkContext().getConf();
        assertEquals("org.apache.spark.serializer.KryoSerializer", conf.get("spark.serializer"));
        assertEquals("true", conf.get("spark.kryo.registrationRequired"));
        Set<String> registered = Set.of(conf.get("spark.kryo.classesToRegister").split(","));
        for (Class<?> c : DataKryoClasses.KRYO_CLASSES) {
            assertTrue(registered.contains(c.getName()), c.getName());
        }
        Exception e = assertThrows(
                Exception.class,
                () -> TestSpark.byPartition(spark.range(4).javaRDD().map(x -> new Unregistered())));
        assertTrue(stackText(e).contains("Class is not registered"), stackText(e));

        // Read (items, summaries, bad records), windows (fragments, keys, broadcast layout), segments,
        // whole sequences: each stage's records cross the serializer.
        SourceData data = Sources.read(
                spark,
                "synthetic:associative-recall?documents=30",
                ReadOptions.defaults().withPartitions(3).withMaxChunkTokens(7));
        TrainingWindows tw = TrainingWindows.build(
                data, WindowOptions.of(16).withValidationFraction(0.2).withSeed(3));
        long windows = tw.train().count() + tw.validation().count();
        assertEquals(tw.trainCounts().windows + tw.validationCounts().windows, windows);
        Segments s = Segments.cut(data, 5, 3);
        List<Segment> segs = s.segments().collect();
        assertEquals(30 * 7, segs.size()); // 32 tokens per document: 6 segments of 5 and one of 2
        assertEquals(30, data.sequences().count());
    }

    private static String stackText(Throwable t) {
        java.io.StringWriter w = new java.io.StringWriter();
        t.printStackTrace(new java.io.PrintWriter(w));
        return w.toString().lines().limit(400).collect(Collectors.joining("\n"));
    }
}
