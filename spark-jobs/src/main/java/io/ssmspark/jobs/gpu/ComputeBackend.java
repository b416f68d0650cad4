package io.ssmspark.jobs.gpu;

/**
 * The ND4J backend a task runs on, as far as device binding needs to know it. Behind an
 * interface so that the binding rules can be tested with a fake backend on a machine without GPUs.
 */
public interface ComputeBackend {

    /** A name for messages, e.g. the backend's class name. */
    String name();

    /** True when the backend runs on CUDA devices (nd4j-cuda), false for the CPU backend. */
    boolean isCuda();

    /** Number of CUDA devices this process can see (after CUDA_VISIBLE_DEVICES); 0 on the CPU backend. */
    int visibleDeviceCount();

    /** Makes the calling thread allocate and compute on the given CUDA device (0-based, process view). */
    void bindCurrentThread(int deviceIndex);
}
