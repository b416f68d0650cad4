package io.ssmspark.model.tensor;

import java.util.function.IntConsumer;

/**
 * The threads one kernel call may spread its independent parts over (the SSD forward: its heads), for this JVM:
 * the environment variable {@value #VARIABLE} (default 1), or {@link #set}. The parts' arithmetic is each head's
 * own, but gemms over fewer heads may round differently, so results equal those of the same setting bit for bit
 * and those of another setting to rounding. ND4J's own op threads should then be 1 per kernel thread: kernel
 * threads each running multi-threaded ND4J ops oversubscribe the cores (README, "Measured design choices").
 */
public final class KernelThreads {
    /** The environment variable that sets the threads per kernel call. */
    public static final String VARIABLE = "SSM_SPARK_KERNEL_THREADS";

    private static final ParallelParts POOL = new ParallelParts("ssm-kernel");
    private static volatile int threads = 1;
    private static volatile String badSetting;

    static {
        String value = System.getenv(VARIABLE);
        if (value != null && !value.isBlank()) {
            try {
                set(Integer.parseInt(value.trim()));
            } catch (IllegalArgumentException e) {
                badSetting = VARIABLE + ": expected a whole number >= 1 but found '" + value + "'";
            }
        }
    }

    private KernelThreads() {}

    /** The threads a kernel call may use now; fails naming {@value #VARIABLE} when its value is not a count. */
    public static int threads() {
        if (badSetting != null) {
            throw new IllegalArgumentException(badSetting);
        }
        return threads;
    }

    /** Sets the threads per kernel call (≥ 1). */
    public static void set(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("kernel threads: expected >= 1 but found " + n);
        }
        threads = n;
        badSetting = null;
    }

    /** Runs {@code part} for 0..n-1, part 0 on this thread, and returns when all are done. */
    public static void run(int n, IntConsumer part) {
        if (n == 1) {
            part.accept(0);
            return;
        }
        POOL.run(n, k -> {
            part.accept(k);
            return null;
        });
    }
}
