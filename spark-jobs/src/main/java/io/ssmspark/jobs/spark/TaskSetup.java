package io.ssmspark.jobs.spark;

import io.ssmspark.jobs.gpu.GpuBinding;
import java.util.OptionalInt;
import org.apache.spark.SparkEnv;

/** The one call every task of our jobs (training, validation, scoring) makes before touching ND4J. */
public final class TaskSetup {
    private TaskSetup() {}

    /**
     * Binds the running task to its GPU when the job requests GPUs ({@code spark.task.resource.gpu.amount=1});
     * a no-op otherwise. See {@link GpuBinding#bindCurrentTask}.
     */
    public static OptionalInt beforeTask() {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            throw new IllegalStateException("TaskSetup.beforeTask must be called inside a Spark task (no SparkEnv)");
        }
        return GpuBinding.bindCurrentTask(env.conf());
    }
}
