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
            long[][].class,
            // io.ssmspark.jobs.score: segment records, halos and summaries
            io.ssmspark.jobs.score.Matrix.class,
            io.ssmspark.jobs.score.Matrix[].class,
            io.ssmspark.jobs.score.Matrix[][].class,
            io.ssmspark.jobs.spark.ModelBlob.class,
            io.ssmspark.jobs.score.SegmentMeta.class,
            io.ssmspark.jobs.score.SegmentLayout.class,
            io.ssmspark.jobs.score.WaveOutput.class,
            io.ssmspark.jobs.score.TaskBytes.class,
            io.ssmspark.jobs.score.ScoredParts.Part.class,
            io.ssmspark.jobs.score.SegmentRows.class,
            io.ssmspark.jobs.score.ScoredSegment.class,
            // io.ssmspark.jobs.train: the broadcast parameters and the tasks' results
            io.ssmspark.jobs.train.PartitionResult.class,
            io.ssmspark.jobs.train.WindowPart.class,
            io.ssmspark.jobs.train.PackedSum.class,
            io.ssmspark.jobs.train.ScalarSum.class,
            // io.ssmspark.jobs.train: the sharded reduce's shuffles and cached optimizer shards
            io.ssmspark.jobs.train.FlatValues.class,
            io.ssmspark.jobs.train.OptimizerShard.class,
            io.ssmspark.jobs.train.ParameterSlice.class,
            io.ssmspark.jobs.train.GradientSlice.class,
            io.ssmspark.jobs.train.ReducedShard.class,
            java.util.ArrayList.class)));

    /** Spark SQL classes our jobs send beyond those the data pipeline already lists. */
    public static final List<String> SPARK_CLASS_NAMES =
            List.of("org.apache.spark.sql.types.DoubleType$", "org.apache.spark.sql.types.FloatType$");

    @Override
    public void registerClasses(Kryo kryo) {
        for (Class<?> c : DataKryoClasses.KRYO_CLASSES) {
            kryo.register(c);
        }
        for (Class<?> c : JOB_CLASSES) {
            kryo.register(c);
        }
        List<String> sparkClasses = new ArrayList<>(DataKryoClasses.SPARK_CLASS_NAMES);
        sparkClasses.addAll(SPARK_CLASS_NAMES);
        for (String name : sparkClasses) {
            try {
                kryo.register(Class.forName(name, false, Thread.currentThread().getContextClassLoader()));
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("Spark class " + name + " is missing from the classpath", e);
            }
        }
    }
}
