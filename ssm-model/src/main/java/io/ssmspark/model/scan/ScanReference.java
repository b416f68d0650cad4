package io.ssmspark.model.scan;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The minimal spec beside the fast path: Mamba-1's selective scan ({@link ScanInputs}) as the plain sequential loop
 * of mamba_ssm's {@code selective_scan_ref} (mamba_ssm/ops/selective_scan_interface.py: deltaA = exp(delta·A),
 * x = deltaA·x + delta·B·u, y = C·x, then + D·u), in double precision, and its backward as the adjoint recurrence
 * run in reverse. Inputs of any floating dtype; results are DOUBLE. For tests: it keeps every state in the backward.
 */
public final class ScanReference {
    private ScanReference() {}

    /** Runs the recurrence from {@code initialState} (batch, D, N), or zeros when null. */
    public static ScanResult forward(ScanInputs in, INDArray initialState) {
        int b = in.batch(), t = in.seqLen(), d = in.channels(), n = in.dState();
        double[] x = values(in.x()), dt = values(in.dt()), a = values(in.A()), bm = values(in.B()), cm = values(in.C());
        double[] skip = in.D() == null ? null : values(in.D());
        double[] h = initialState == null ? new double[b * d * n] : values(initialState);
        double[] y = new double[b * t * d];
        double[] dtSum = new double[b * d];
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                int row = bi * t + ti;
                for (int di = 0; di < d; di++) {
                    double step = dt[row * d + di];
                    double u = x[row * d + di];
                    double acc = 0;
                    for (int ni = 0; ni < n; ni++) {
                        int s = (bi * d + di) * n + ni;
                        h[s] = Math.exp(step * a[di * n + ni]) * h[s] + step * bm[row * n + ni] * u;
                        acc += cm[row * n + ni] * h[s];
                    }
                    y[row * d + di] = acc + (skip == null ? 0 : skip[di] * u);
                    dtSum[bi * d + di] += step;
                }
            }
        }
        return new ScanResult(
                Nd4j.create(y, new long[] {b, t, d}, 'c'),
                Nd4j.create(h, new long[] {b, d, n}, 'c'),
                Nd4j.create(dtSum, new long[] {b, d}, 'c'));
    }

    /**
     * Gradients of a scalar loss given dℓ/dy (batch, T, D) and dℓ/d(final state) (batch, D, N; null for zero): the
     * adjoint g_t = C_t ⊗ dy_t + exp(dt_{t+1}·A)⊙g_{t+1}, run from the end, with every state of the forward kept.
     */
    public static ScanGradients backward(ScanInputs in, INDArray initialState, INDArray dy, INDArray dFinalState) {
        int b = in.batch(), t = in.seqLen(), d = in.channels(), n = in.dState();
        double[] x = values(in.x()), dt = values(in.dt()), a = values(in.A()), bm = values(in.B()), cm = values(in.C());
        double[] skip = in.D() == null ? null : values(in.D());
        double[] dyv = values(dy);
        double[] h0 = initialState == null ? new double[b * d * n] : values(initialState);
        double[] gFinal = dFinalState == null ? new double[b * d * n] : values(dFinalState);
        int dn = d * n;
        double[] dx = new double[b * t * d], ddt = new double[b * t * d], dA = new double[dn];
        double[] dB = new double[b * t * n], dC = new double[b * t * n], dD = new double[d], dh0 = new double[b * dn];
        for (int bi = 0; bi < b; bi++) {
            double[] states = new double[(t + 1) * dn]; // states[k] = h_{k−1}, states[0] = the initial state
            System.arraycopy(h0, bi * dn, states, 0, dn);
            for (int ti = 0; ti < t; ti++) {
                int row = bi * t + ti;
                for (int di = 0; di < d; di++) {
                    double step = dt[row * d + di];
                    for (int ni = 0; ni < n; ni++) {
                        int s = di * n + ni;
                        states[(ti + 1) * dn + s] =
                                Math.exp(step * a[s]) * states[ti * dn + s] + step * bm[row * n + ni] * x[row * d + di];
                    }
                }
            }
            double[] g = new double[dn];
            System.arraycopy(gFinal, bi * dn, g, 0, dn);
            for (int ti = t - 1; ti >= 0; ti--) {
                int row = bi * t + ti;
                for (int di = 0; di < d; di++) {
                    double step = dt[row * d + di];
                    double u = x[row * d + di];
                    double up = dyv[row * d + di];
                    double gB = 0;
                    for (int ni = 0; ni < n; ni++) {
                        int s = di * n + ni;
                        g[s] += cm[row * n + ni] * up; // dℓ/dh_t in full
                        gB += g[s] * bm[row * n + ni];
                        dB[row * n + ni] += g[s] * step * u;
                        dC[row * n + ni] += up * states[(ti + 1) * dn + s];
                    }
                    dx[row * d + di] = step * gB + (skip == null ? 0 : skip[di] * up);
                    ddt[row * d + di] = u * gB;
                    if (skip != null) {
                        dD[di] += up * u;
                    }
                    for (int ni = 0; ni < n; ni++) {
                        int s = di * n + ni;
                        double decay = Math.exp(step * a[s]);
                        double w = g[s] * decay * states[ti * dn + s]; // dℓ/d(dt·A) at (t, d, n)
                        ddt[row * d + di] += a[s] * w;
                        dA[s] += step * w;
                        g[s] *= decay; // on to h_{t−1}
                    }
                }
            }
            System.arraycopy(g, 0, dh0, bi * dn, dn);
        }
        return new ScanGradients(
                Nd4j.create(dx, new long[] {b, t, d}, 'c'),
                Nd4j.create(ddt, new long[] {b, t, d}, 'c'),
                Nd4j.create(dA, new long[] {d, n}, 'c'),
                Nd4j.create(dB, new long[] {b, t, n}, 'c'),
                Nd4j.create(dC, new long[] {b, t, n}, 'c'),
                skip == null ? null : Nd4j.create(dD, new long[] {d}, 'c'),
                Nd4j.create(dh0, new long[] {b, d, n}, 'c'));
    }

    private static double[] values(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').reshape(a.length()).toDoubleVector();
    }
}
