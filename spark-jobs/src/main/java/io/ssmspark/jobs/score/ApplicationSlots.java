package io.ssmspark.jobs.score;

import org.apache.spark.SparkConf;

/**
 * The most task slots a cluster application can ever have, where its settings fix it before any executor registers:
 * {@code spark.cores.max} (standalone) or a fixed number of executors of known cores (dynamic allocation off). A
 * barrier stage wider than that can never start, so it is refused at once instead of after Spark's slot checks.
 */
record ApplicationSlots(int slots, String why) {

    /** The bound the settings give, or null when they leave it open (executors may keep arriving). */
    static ApplicationSlots of(SparkConf conf) {
        int cpus = Math.max(1, conf.getInt("spark.task.cpus", 1));
        if (conf.contains("spark.cores.max")) {
            int cores = conf.getInt("spark.cores.max", 0);
            return new ApplicationSlots(cores / cpus, "spark.cores.max " + cores + " / spark.task.cpus " + cpus);
        }
        boolean dynamic = conf.getBoolean("spark.dynamicAllocation.enabled", false);
        if (!dynamic && conf.contains("spark.executor.instances") && conf.contains("spark.executor.cores")) {
            int instances = conf.getInt("spark.executor.instances", 0);
            int cores = conf.getInt("spark.executor.cores", 1);
            return new ApplicationSlots(
                    instances * (cores / cpus),
                    "spark.executor.instances " + instances + " × (spark.executor.cores " + cores
                            + " / spark.task.cpus " + cpus + ")");
        }
        return null;
    }

    /** Refuses {@code tasks} barrier tasks at once when they exceed the bound. */
    static void require(int tasks, SparkConf conf) {
        ApplicationSlots bound = of(conf);
        if (bound != null && tasks > bound.slots()) {
            throw new IllegalArgumentException("--parallel-segments: " + tasks + " segments scored at once need "
                    + tasks + " task slots at once, but this application can have at most " + bound.slots() + " ("
                    + bound.why() + "); use --parallel-segments " + Math.max(1, bound.slots())
                    + " or fewer, or give the application more cores");
        }
    }
}
