package io.ssmspark.jobs.spark;

import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;

/**
 * Frees a broadcast or a cached RDD in a {@code finally}, except while the JVM shuts down (SIGINT, SIGTERM) or the
 * context has stopped. Both ask the block manager's endpoint synchronously, and an endpoint that stops while the
 * question waits never answers: the ask then blocks for {@code spark.rpc.askTimeout} (120 s), so an interrupted
 * command would not unwind. A stopping context drops every block itself.
 */
public final class SparkCleanup {
    private SparkCleanup() {}

    /** {@link Broadcast#destroy()}, unless Spark is stopping. */
    public static void destroy(Broadcast<?> broadcast) {
        if (broadcast != null && live()) {
            broadcast.destroy();
        }
    }

    /** {@code rdd.unpersist(false)}, unless Spark is stopping. */
    public static void unpersist(JavaRDD<?> rdd) {
        if (rdd != null && live() && !rdd.context().isStopped()) {
            rdd.unpersist(false);
        }
    }

    private static boolean live() {
        return !Interruption.requested() && SparkEnv.get() != null;
    }
}
