package io.ssmspark.jobs.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Properties;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext$;
import org.apache.spark.TaskContextImpl;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;
import scala.collection.immutable.Map;

/** {@link GpuBinding#bindCurrentTask} with Spark's own TaskContext and the ND4J backend really loaded. */
class GpuBindingInTaskTest {

    @Test
    void withoutGpuRequestEveryTaskOfALocalJobRunsUnbound() {
        SparkConf conf = new SparkConf(false)
                .setMaster("local[2]")
                .setAppName("gpu-binding-test")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false");
        try (JavaSparkContext spark = new JavaSparkContext(conf)) {
            SparkConf taskConf = spark.getConf();
            List<String> bound = spark.parallelize(List.of(1, 2, 3, 4, 5), 4)
                    .mapPartitions(rows -> List.of(TaskContext$.MODULE$.get().partitionId() + ":"
                                    + GpuBinding.bindCurrentTask(taskConf))
                            .iterator())
                    .collect();
            assertEquals(
                    List.of("0:OptionalInt.empty", "1:OptionalInt.empty", "2:OptionalInt.empty", "3:OptionalInt.empty"),
                    bound);
        }
    }

    @Test
    void gpuRequestOnTheCpuBackendFailsInsideTheTask() {
        // A task context as Spark builds it for a task that was given GPU 0.
        Map<String, ResourceInformation> resources =
                new Map.Map1<>("gpu", new ResourceInformation("gpu", new String[] {"0"}));
        TaskContextImpl task =
                new TaskContextImpl(3, 0, 5, 42L, 0, 8, null, new Properties(), null, null, 1, resources);
        TaskContext$.MODULE$.setTaskContext(task);
        try {
            SparkConf conf = new SparkConf(false).set("spark.task.resource.gpu.amount", "1");
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> GpuBinding.bindCurrentTask(conf));
            // The real backend of the default build is detected: nd4j-native's CpuBackend.
            assertEquals(
                    "spark.task.resource.gpu.amount=1 requests a GPU for task 42 (stage 3, partition 5), but the"
                            + " ND4J backend loaded is org.nd4j.linalg.cpu.nativecpu.CpuBackend (CPU). Build the job jar with"
                            + " 'mvn -Pcuda -DskipTests package'.",
                    e.getMessage());
        } finally {
            TaskContext$.MODULE$.unset();
        }
    }
}
