package io.ssmspark.jobs.bench;

import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** This machine's ND4J gemm rate: a 1024×1024 float matmul into a preallocated output. */
public final class GemmPeak {
    private GemmPeak() {}

    /** GFLOP/s of the median of several 1024³ float matmuls (2·1024³ FLOPs each). */
    public static double measureGflops() {
        int n = 1024;
        Nd4j.getRandom().setSeed(17);
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n), b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.zeros(DataType.FLOAT, n, n);
        BenchTiming t = BenchTiming.measure(3, 15, () -> Ops.matmul(a, b, c, false, false));
        return 2.0 * n * n * n / t.medianSeconds() / 1e9;
    }
}
