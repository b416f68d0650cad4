package io.ssmspark.jobs.bench;

import io.ssmspark.jobs.train.Trainer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * The bytes of task results the driver received in training steps (the jobs of {@link Trainer#STEP_JOB_GROUP}), as
 * Spark measures them (each finished task's serialized result size): what a step's collect brings onto the driver's
 * heap. Shuffled data, which goes between executors, is not in it, nor are validation passes and checkpoints.
 */
final class DriverResultBytes extends SparkListener {
    final AtomicLong bytes = new AtomicLong();
    private final Set<Integer> stepStages = ConcurrentHashMap.newKeySet();

    @Override
    public void onJobStart(SparkListenerJobStart jobStart) {
        String group =
                jobStart.properties() == null ? null : jobStart.properties().getProperty("spark.jobGroup.id");
        if (Trainer.STEP_JOB_GROUP.equals(group)) {
            scala.collection.Iterator<Object> ids = jobStart.stageIds().iterator();
            while (ids.hasNext()) {
                stepStages.add((Integer) ids.next());
            }
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
        if (taskEnd.taskMetrics() != null && stepStages.contains(taskEnd.stageId())) {
            bytes.addAndGet(taskEnd.taskMetrics().resultSize());
        }
    }
}
