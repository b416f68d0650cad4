package io.ssmspark.jobs.spark;

import io.ssmspark.jobs.gpu.GpuBinding;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Builds the SparkSession of a job. Without a master (none given and none set by spark-submit) it
 * runs in local mode on all cores, bound to 127.0.0.1 so no network setup is needed. Kryo with our
 * registrator is always on. When the job requests GPUs, the CUDA backend must be on the classpath
 * (checked here, before any task starts).
 */
public final class SparkSessions {
    /**
     * The job's Kryo registrator, by name as cluster configs give it (the registrator sits in the composition root,
     * io.ssmspark.jobs, because it names classes of every package).
     */
    public static final String KRYO_REGISTRATOR = "io.ssmspark.jobs.SsmKryoRegistrator";

    private final String appName;
    private String master;
    private final Map<String, String> conf = new LinkedHashMap<>();

    private SparkSessions(String appName) {
        this.appName = appName;
    }

    public static SparkSessions builder(String appName) {
        return new SparkSessions(appName);
    }

    /** The master URL (local[k], spark://..., yarn, k8s://...); null leaves spark-submit's choice. */
    public SparkSessions master(String master) {
        this.master = master;
        return this;
    }

    public SparkSessions conf(String key, String value) {
        conf.put(key, value);
        return this;
    }

    /** Test settings: registration required (a missing Kryo class fails), no UI, files under target/. */
    public SparkSessions forTests() {
        return conf("spark.kryo.registrationRequired", "true")
                .conf("spark.ui.enabled", "false")
                .conf("spark.local.dir", "target/spark-local")
                .conf("spark.sql.warehouse.dir", "target/spark-warehouse")
                .conf("spark.sql.shuffle.partitions", "4");
    }

    /** Spark's bound on how many times a barrier stage's slot check is retried. */
    public static final String BARRIER_CHECK_FAILURES = "spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures";

    public SparkSession build() {
        SparkSession.Builder b = SparkSession.builder().appName(appName);
        String chosen = master != null ? master : System.getProperty("spark.master");
        if (chosen == null) {
            chosen = "local[*]";
        }
        b.master(chosen);
        if (chosen.startsWith("local")) {
            b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
            b.config("spark.ui.showConsoleProgress", "false");
            // In local mode the executor is this JVM: a task's OutOfMemoryError fails the task, and the job, with the
            // error as its cause (UserErrorHandler names the memory settings), instead of Spark exiting the JVM with
            // code 52 and three stack traces. On a cluster an executor that ran out of memory still exits.
            b.config("spark.executor.killOnFatalError.depth", "0");
        }
        if (!chosen.startsWith("local") && System.getProperty(BARRIER_CHECK_FAILURES) == null) {
            // A barrier stage (sequence-parallel scoring) waits for all its task slots; Spark's default retries the
            // check
            // 40 times, 15 s apart (10 minutes). Executors that are still registering arrive well within 2 minutes.
            b.config(BARRIER_CHECK_FAILURES, "8");
        }
        b.config("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        b.config("spark.kryo.registrator", KRYO_REGISTRATOR);
        // Kryo's unsafe streams copy primitive arrays in bulk, where the safe ones serialize a training task's gradient
        // result element by element (README, "Measured design choices").
        b.config("spark.kryo.unsafe", "true");
        conf.forEach(b::config);
        SparkSession session = b.getOrCreate();
        GpuBinding.requireCudaBackendIfGpusRequested(session.sparkContext().conf());
        return session;
    }
}
