package io.ssmspark.model.ssd;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The two reference forms of SSD, written for clarity, not speed, and computed in double whatever
 * the input dtype (the result is cast back to it). The chunked kernel is held against them.
 *
 * <ul>
 *   <li>{@link #recurrence}: the defining loop S_t = a_t·S_{t-1} + dt_t·x_t·B_tᵀ, y_t = S_t·C_t + D·x_t
 *       with a_t = exp(dt_t·A).
 *   <li>{@link #quadratic}: the masked-attention form Y = (L ∘ C·Bᵀ)(dt·X) with L[i][j] =
 *       exp(Σ_{k=j+1..i} dt_k·A) for i ≥ j, plus exp(cum_i)·S_0·C_i for an initial state S_0.
 * </ul>
 */
public final class SsdReference {
    private SsdReference() {}

    /** The sequential recurrence. initialState (batch, H, P, N) may be null (zeros). */
    public static SsdResult recurrence(SsdInputs in, INDArray initialState) {
        SsdDims d = in.dims();
        Arrays4 a = new Arrays4(in, initialState);
        int T = d.seqLen(), H = d.heads(), P = d.headDim(), N = d.dState();
        double[] y = new double[d.batch() * T * H * P];
        double[] finalState = new double[d.batch() * H * P * N];
        double[] logDecay = new double[d.batch() * H];
        for (int b = 0; b < d.batch(); b++) {
            for (int h = 0; h < H; h++) {
                int g = d.groupOf(h);
                double[][] S = a.initialState(b, h);
                double total = 0;
                for (int t = 0; t < T; t++) {
                    double dt = a.dt(b, t, h);
                    double decay = Math.exp(dt * a.A[h]);
                    total += dt * a.A[h];
                    for (int p = 0; p < P; p++) {
                        double xv = a.x(b, t, h, p);
                        double out = 0;
                        for (int n = 0; n < N; n++) {
                            S[p][n] = decay * S[p][n] + dt * xv * a.B(b, t, g, n);
                            out += S[p][n] * a.C(b, t, g, n);
                        }
                        y[((b * T + t) * H + h) * P + p] = out + a.D(h, p) * xv;
                    }
                }
                a.storeState(finalState, S, b, h);
                logDecay[b * H + h] = total;
            }
        }
        return a.result(y, finalState, logDecay);
    }

    /** The quadratic (masked attention) form over the whole sequence. */
    public static SsdResult quadratic(SsdInputs in, INDArray initialState) {
        SsdDims d = in.dims();
        Arrays4 a = new Arrays4(in, initialState);
        int T = d.seqLen(), H = d.heads(), P = d.headDim(), N = d.dState();
        double[] y = new double[d.batch() * T * H * P];
        double[] finalState = new double[d.batch() * H * P * N];
        double[] logDecay = new double[d.batch() * H];
        for (int b = 0; b < d.batch(); b++) {
            for (int h = 0; h < H; h++) {
                int g = d.groupOf(h);
                double[] cum = new double[T]; // cum[i] = Σ_{k ≤ i} dt_k·A
                double run = 0;
                for (int t = 0; t < T; t++) {
                    run += a.dt(b, t, h) * a.A[h];
                    cum[t] = run;
                }
                double[][] S0 = a.initialState(b, h);
                for (int i = 0; i < T; i++) {
                    for (int p = 0; p < P; p++) {
                        double out = 0;
                        for (int j = 0; j <= i; j++) {
                            double cb = 0;
                            for (int n = 0; n < N; n++) {
                                cb += a.C(b, i, g, n) * a.B(b, j, g, n);
                            }
                            out += Math.exp(cum[i] - cum[j]) * cb * a.dt(b, j, h) * a.x(b, j, h, p);
                        }
                        double fromInitial = 0;
                        for (int n = 0; n < N; n++) {
                            fromInitial += S0[p][n] * a.C(b, i, g, n);
                        }
                        out += Math.exp(cum[i]) * fromInitial;
                        y[((b * T + i) * H + h) * P + p] = out + a.D(h, p) * a.x(b, i, h, p);
                    }
                }
                // S_T = exp(cum_T)·S_0 + Σ_j exp(cum_T − cum_j)·dt_j·x_j·B_jᵀ
                double[][] S = new double[P][N];
                for (int p = 0; p < P; p++) {
                    for (int n = 0; n < N; n++) {
                        double s = Math.exp(cum[T - 1]) * S0[p][n];
                        for (int j = 0; j < T; j++) {
                            s += Math.exp(cum[T - 1] - cum[j]) * a.dt(b, j, h) * a.x(b, j, h, p) * a.B(b, j, g, n);
                        }
                        S[p][n] = s;
                    }
                }
                a.storeState(finalState, S, b, h);
                logDecay[b * H + h] = cum[T - 1];
            }
        }
        return a.result(y, finalState, logDecay);
    }

    /** The inputs as flat double arrays with index helpers, shared by both reference forms. */
    private static final class Arrays4 {
        final SsdDims d;
        final double[] x, dt, A, B, C, D, S0;

        Arrays4(SsdInputs in, INDArray initialState) {
            d = in.dims();
            x = in.x().dup('c').data().asDouble();
            dt = in.dt().dup('c').data().asDouble();
            A = in.A().dup('c').data().asDouble();
            B = in.B().dup('c').data().asDouble();
            C = in.C().dup('c').data().asDouble();
            D = in.D() == null ? null : in.D().dup('c').data().asDouble();
            if (initialState != null) {
                SsdInputs.expectShape("initialState", initialState, "(batch, H, P, N)", d.stateShape());
            }
            S0 = initialState == null ? null : initialState.dup('c').data().asDouble();
        }

        double x(int b, int t, int h, int p) {
            return x[((b * d.seqLen() + t) * d.heads() + h) * d.headDim() + p];
        }

        double dt(int b, int t, int h) {
            return dt[(b * d.seqLen() + t) * d.heads() + h];
        }

        double B(int b, int t, int g, int n) {
            return B[((b * d.seqLen() + t) * d.groups() + g) * d.dState() + n];
        }

        double C(int b, int t, int g, int n) {
            return C[((b * d.seqLen() + t) * d.groups() + g) * d.dState() + n];
        }

        double D(int h, int p) {
            if (D == null) {
                return 0;
            }
            return d.dPerChannel() ? D[h * d.headDim() + p] : D[h];
        }

        double[][] initialState(int b, int h) {
            double[][] S = new double[d.headDim()][d.dState()];
            if (S0 != null) {
                for (int p = 0; p < d.headDim(); p++) {
                    for (int n = 0; n < d.dState(); n++) {
                        S[p][n] = S0[((b * d.heads() + h) * d.headDim() + p) * d.dState() + n];
                    }
                }
            }
            return S;
        }

        void storeState(double[] out, double[][] S, int b, int h) {
            for (int p = 0; p < d.headDim(); p++) {
                for (int n = 0; n < d.dState(); n++) {
                    out[((b * d.heads() + h) * d.headDim() + p) * d.dState() + n] = S[p][n];
                }
            }
        }

        SsdResult result(double[] y, double[] finalState, double[] logDecay) {
            return new SsdResult(
                    Nd4j.createFromArray(y)
                            .reshape(d.batch(), d.seqLen(), d.heads(), d.headDim())
                            .castTo(d.dtype()),
                    Nd4j.createFromArray(finalState).reshape(d.stateShape()).castTo(d.dtype()),
                    Nd4j.createFromArray(logDecay).reshape(d.batch(), d.heads()).castTo(d.dtype()));
        }
    }
}
