package io.ssmspark.model.s4d;

import io.ssmspark.model.config.S4dConfig;

/**
 * The initial diagonal A of S4D (Gu et al., "On the Parameterization and Initialization of Diagonal State Space
 * Models"), per mode n of one channel (every channel starts the same), for state size N:
 * <ul>
 * <li>S4D-Lin: A_n = −1/2 + iπn, n &lt; N/2;</li>
 * <li>S4D-Inv: A_n = −1/2 + i(N/π)(N/(2n+1) − 1), n &lt; N/2;</li>
 * <li>S4D-Real: A_n = −(n+1), n &lt; N;</li>
 * <li>LegS: the diagonal of the HiPPO-LegS matrix ({@link #hippoLegS}), which is −(n+1), n &lt; N.</li>
 * </ul>
 * The mixer stores A as log_A_real = ln(−Re A) and A_imag = Im A (state-spaces' parameterisation), so Re A stays
 * negative while training.
 */
public final class S4dInit {

    private S4dInit() {}

    /** Re A_n of every mode. */
    public static double[] real(S4dConfig.Init init, int dState) {
        int m = modes(init, dState);
        double[] v = new double[m];
        switch (init) {
            case LIN, INV -> java.util.Arrays.fill(v, -0.5);
            case REAL -> {
                for (int n = 0; n < m; n++) {
                    v[n] = -(n + 1);
                }
            }
            case LEGS -> {
                double[][] legs = hippoLegS(dState);
                for (int n = 0; n < m; n++) {
                    v[n] = legs[n][n];
                }
            }
            default -> throw new IllegalStateException("unhandled init " + init);
        }
        return v;
    }

    /** Im A_n of every mode (all 0 for the real inits). */
    public static double[] imag(S4dConfig.Init init, int dState) {
        int m = modes(init, dState);
        double[] v = new double[m];
        for (int n = 0; n < m; n++) {
            v[n] = switch (init) {
                case LIN -> Math.PI * n;
                case INV -> dState / Math.PI * (dState / (2.0 * n + 1) - 1);
                case REAL, LEGS -> 0.0;
            };
        }
        return v;
    }

    /**
     * The HiPPO-LegS state matrix (N × N): A_nk = −√(2n+1)·√(2k+1) for n &gt; k, −(n+1) for n = k, 0 for n &lt; k.
     */
    public static double[][] hippoLegS(int dState) {
        double[][] a = new double[dState][dState];
        for (int n = 0; n < dState; n++) {
            for (int k = 0; k < n; k++) {
                a[n][k] = -Math.sqrt(2.0 * n + 1) * Math.sqrt(2.0 * k + 1);
            }
            a[n][n] = -(n + 1);
        }
        return a;
    }

    private static int modes(S4dConfig.Init init, int dState) {
        return new S4dConfig(init).modes(dState);
    }
}
