package io.ssmspark.jobs.gpu;

import org.nd4j.linalg.factory.Nd4j;

/** The ND4J backend actually loaded in this JVM (nd4j-native or nd4j-cuda). */
public final class Nd4jComputeBackend implements ComputeBackend {

    /** Class name of ND4J's CUDA backend, in nd4j-cuda-11.6. */
    public static final String CUDA_BACKEND_CLASS = "org.nd4j.linalg.jcublas.JCublasBackend";

    private final String backendClass;

    /** Loads ND4J (and with it the native libraries) if that has not happened yet. */
    public Nd4jComputeBackend() {
        this.backendClass = Nd4j.getBackend().getClass().getName();
    }

    @Override
    public String name() {
        return backendClass;
    }

    @Override
    public boolean isCuda() {
        return CUDA_BACKEND_CLASS.equals(backendClass);
    }

    @Override
    public int visibleDeviceCount() {
        return isCuda() ? Nd4j.getAffinityManager().getNumberOfDevices() : 0;
    }

    @Override
    public void bindCurrentThread(int deviceIndex) {
        Nd4j.getAffinityManager().unsafeSetDevice(deviceIndex);
    }
}
