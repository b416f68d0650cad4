package io.ssmspark.jobs.bench;

/**
 * Which OpenBLAS kernels this process was told to run, so that a bench line says whether it ran on a chosen kernel
 * family or on OpenBLAS's own detection (which, in ND4J's bundled OpenBLAS 0.3.19, falls back to generic kernels
 * on CPUs newer than itself). The same line's {@code gemm_gflops} shows what the kernels achieved.
 */
public final class BlasKernels {
    private BlasKernels() {}

    /**
     * Adds {@code openblas_coretype} (the family asked for, or "openblas-detection") and
     * {@code openblas_coretype_source} ("user", "launcher": chosen by bin/ssm-spark from the CPU flags, or "none").
     */
    public static JsonLine describe(JsonLine line) {
        String requested = System.getenv("OPENBLAS_CORETYPE");
        boolean given = requested != null && !requested.isBlank();
        String source = System.getenv("SSM_SPARK_OPENBLAS_CHOICE");
        return line.put("openblas_coretype", given ? requested.trim() : "openblas-detection")
                .put(
                        "openblas_coretype_source",
                        !given ? "none" : source == null || source.isBlank() ? "user" : source);
    }
}
