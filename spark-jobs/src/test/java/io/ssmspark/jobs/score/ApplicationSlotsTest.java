package io.ssmspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** A cluster application's slots, where its settings fix them, refuse a wider barrier stage at once. */
class ApplicationSlotsTest {

    @Test
    void theSettingsBoundTheSlotsOrLeaveThemOpen() {
        assertEquals(
                new ApplicationSlots(4, "spark.cores.max 8 / spark.task.cpus 2"),
                ApplicationSlots.of(
                        new SparkConf(false).set("spark.cores.max", "8").set("spark.task.cpus", "2")));
        assertEquals(
                new ApplicationSlots(6, "spark.executor.instances 3 × (spark.executor.cores 4 / spark.task.cpus 2)"),
                ApplicationSlots.of(new SparkConf(false)
                        .set("spark.executor.instances", "3")
                        .set("spark.executor.cores", "4")
                        .set("spark.task.cpus", "2")));
        assertNull(ApplicationSlots.of(new SparkConf(false)
                .set("spark.executor.instances", "3")
                .set("spark.executor.cores", "4")
                .set("spark.dynamicAllocation.enabled", "true")));
        assertNull(ApplicationSlots.of(new SparkConf(false).set("spark.executor.instances", "3")));
        assertNull(ApplicationSlots.of(new SparkConf(false)));
    }

    @Test
    void aWiderBarrierStageIsRefusedAtOnceWithTheNumbers() {
        SparkConf conf = new SparkConf(false).set("spark.cores.max", "2");
        ApplicationSlots.require(2, conf);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ApplicationSlots.require(3, conf));
        assertEquals(
                "--parallel-segments: 3 segments scored at once need 3 task slots at once, but this application can"
                        + " have at most 2 (spark.cores.max 2 / spark.task.cpus 1); use --parallel-segments 2 or"
                        + " fewer, or give the application more cores",
                e.getMessage());
        ApplicationSlots.require(100, new SparkConf(false)); // no bound: Spark's own check decides
    }
}
