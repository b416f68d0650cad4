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
}
