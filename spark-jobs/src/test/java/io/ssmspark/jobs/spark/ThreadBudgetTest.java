package io.ssmspark.jobs.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ThreadBudgetTest {

    @Test
    void localModeSplitsTheCoresAmongConcurrentTasks() {
        assertEquals(1, ThreadBudget.threadsPerTask("local[2]", 2));
        assertEquals(1, ThreadBudget.threadsPerTask("local[2,4]", 2));
        assertEquals(4, ThreadBudget.threadsPerTask("local[2]", 8));
        assertEquals(1, ThreadBudget.threadsPerTask("local[*]", 16));
        assertEquals(2, ThreadBudget.threadsPerTask("local", 2));
        assertEquals(1, ThreadBudget.threadsPerTask("local[4]", 2)); // never below one
    }

    @Test
    void clusterMastersAreLeftToTheExecutorsEnvironment() {
        assertEquals(0, ThreadBudget.threadsPerTask("yarn", 2));
        assertEquals(0, ThreadBudget.threadsPerTask("spark://host:7077", 2));
        assertEquals(0, ThreadBudget.threadsPerTask("local-cluster[2,1,1024]", 2));
    }

    @Test
    void aTaskRunsAsManyMicroBatchesAtOnceAsItHasCoresAndMicroBatches() {
        // local[1] on 2 cores: 2 micro-batches at once, one ND4J thread each; set by the task (local mode)
        assertEquals(new ThreadBudget.TaskThreads(2, 1, true), ThreadBudget.forTasks("local[1]", 2, 1, 8));
        // only one micro-batch per task: its ND4J ops get the cores instead
        assertEquals(new ThreadBudget.TaskThreads(1, 2, true), ThreadBudget.forTasks("local[1]", 2, 1, 1));
        assertEquals(new ThreadBudget.TaskThreads(1, 1, true), ThreadBudget.forTasks("local[2]", 2, 1, 8));
        assertEquals(new ThreadBudget.TaskThreads(3, 1, true), ThreadBudget.forTasks("local[2]", 8, 1, 3));
        // a cluster: spark.task.cpus; the executors' OMP_NUM_THREADS stands unless micro-batches run at once
        assertEquals(new ThreadBudget.TaskThreads(4, 1, true), ThreadBudget.forTasks("yarn", 2, 4, 10));
        assertEquals(new ThreadBudget.TaskThreads(1, 4, false), ThreadBudget.forTasks("yarn", 2, 4, 1));
        assertEquals(new ThreadBudget.TaskThreads(1, 1, false), ThreadBudget.forTasks("spark://h:7077", 16, 1, 9));
    }
}
