package io.ssmspark.jobs.spark;

import io.ssmspark.model.lm.HybridLm;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.spark.SparkEnv;
import org.apache.spark.broadcast.Broadcast;

/**
 * Each JVM's models, one per {@link ModelBlob} broadcast, keyed by the application and the broadcast's id (ids start
 * again at 0 in each SparkContext, and a JVM may run one after another): built on first use and shared
 * by the tasks of that JVM (a model only reads its parameters). The cache is bounded: it keeps the {@link #CAPACITY}
 * most recently used, so a training run's earlier steps and finished scoring jobs let their models go.
 */
public final class ExecutorModels {
    /** Models kept per JVM: the current one and the one before it (a straggling task of the previous step). */
    static final int CAPACITY = 2;

    private static final Map<String, HybridLm> MODELS = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, HybridLm> eldest) {
            return size() > CAPACITY;
        }
    };

    private ExecutorModels() {}

    /** This JVM's model of {@code broadcast}, built once (on the driver too: in local mode the tasks share it). */
    public static HybridLm of(Broadcast<ModelBlob> broadcast) {
        return of("broadcast/" + broadcast.id(), () -> broadcast.value().newModel());
    }

    /**
     * This JVM's model named {@code key} within the application, built by {@code build} on first use (parameters
     * that reach the tasks another way than a broadcast: the key must name that set of parameters).
     */
    public static synchronized HybridLm of(String key, Supplier<HybridLm> build) {
        String scoped = application() + "/" + key;
        HybridLm lm = MODELS.get(scoped);
        if (lm == null) {
            lm = build.get();
            MODELS.put(scoped, lm);
        }
        return lm;
    }

    private static String application() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "" : env.conf().get("spark.app.id", "");
    }

    /** {@link #of} from inside a Spark task: first binds the task to its GPU when the job requests GPUs. */
    public static HybridLm forTask(Broadcast<ModelBlob> broadcast) {
        TaskSetup.beforeTask();
        return of(broadcast);
    }

    /** How many models this JVM holds now (for tests). */
    static synchronized int size() {
        return MODELS.size();
    }
}
