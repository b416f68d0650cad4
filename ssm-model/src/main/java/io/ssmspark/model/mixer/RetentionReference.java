package io.ssmspark.model.mixer;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The two defining forms of retention, per head with decay γ, written for clarity, not speed, in double whatever
 * the input dtype (results are DOUBLE). The chunked kernel ({@link RetentionMixer#retention}) and the one-token
 * step are held against them. Arrays: q, k [b, T, H, d_k], v [b, T, H, d_v], states [b, H, d_v, d_k] (SSD's
 * layout: S[p][n] pairs value channel p with key channel n).
 *
 * <ul>
 *   <li>{@link #parallel}: O = (Q Kᵀ ⊙ D) V with D[t][s] = γ^(t−s) for s ≤ t, else 0, plus γ^(t+1)·S_0 q_t for an
 *       initial state S_0; the final state is Σ_s γ^(T−1−s) v_s k_sᵀ + γ^T S_0.</li>
 *   <li>{@link #recurrent}: S_t = γ S_{t−1} + v_t k_tᵀ, o_t = S_t q_t.</li>
 * </ul>
 */
public final class RetentionReference {

    /** o [b, T, H, d_v] and the state after the last token [b, H, d_v, d_k]. */
    public record Result(INDArray o, INDArray finalState) {}

    private RetentionReference() {}

    /** The parallel form. {@code initialState} may be null (zeros). */
    public static Result parallel(INDArray q, INDArray k, INDArray v, double[] gamma, INDArray initialState) {
        Dims d = Dims.of(q, k, v, gamma);
        double[][][][] qa = values(q);
        double[][][][] ka = values(k);
        double[][][][] va = values(v);
        double[][][][] s0 = initialState == null ? null : values(initialState);
        double[] o = new double[d.b * d.t * d.h * d.dv];
        double[] last = new double[d.b * d.h * d.dv * d.dk];
        for (int b = 0; b < d.b; b++) {
            for (int h = 0; h < d.h; h++) {
                for (int t = 0; t < d.t; t++) {
                    for (int s = 0; s <= t; s++) {
                        double score = 0;
                        for (int n = 0; n < d.dk; n++) {
                            score += qa[b][t][h][n] * ka[b][s][h][n];
                        }
                        score *= Math.pow(gamma[h], t - s);
                        for (int p = 0; p < d.dv; p++) {
                            o[((b * d.t + t) * d.h + h) * d.dv + p] += score * va[b][s][h][p];
                        }
                    }
                    if (s0 != null) {
                        double decay = Math.pow(gamma[h], t + 1);
                        for (int p = 0; p < d.dv; p++) {
                            double sum = 0;
                            for (int n = 0; n < d.dk; n++) {
                                sum += s0[b][h][p][n] * qa[b][t][h][n];
                            }
                            o[((b * d.t + t) * d.h + h) * d.dv + p] += decay * sum;
                        }
                    }
                }
                for (int p = 0; p < d.dv; p++) {
                    for (int n = 0; n < d.dk; n++) {
                        double sum = s0 == null ? 0 : Math.pow(gamma[h], d.t) * s0[b][h][p][n];
                        for (int s = 0; s < d.t; s++) {
                            sum += Math.pow(gamma[h], d.t - 1 - s) * va[b][s][h][p] * ka[b][s][h][n];
                        }
                        last[((b * d.h + h) * d.dv + p) * d.dk + n] = sum;
                    }
                }
            }
        }
        return new Result(
                Nd4j.create(o, new long[] {d.b, d.t, d.h, d.dv}, 'c'),
                Nd4j.create(last, new long[] {d.b, d.h, d.dv, d.dk}, 'c'));
    }

    /** The recurrent form, token by token. {@code initialState} may be null (zeros). */
    public static Result recurrent(INDArray q, INDArray k, INDArray v, double[] gamma, INDArray initialState) {
        Dims d = Dims.of(q, k, v, gamma);
        double[][][][] qa = values(q);
        double[][][][] ka = values(k);
        double[][][][] va = values(v);
        double[][][][] s0 = initialState == null ? null : values(initialState);
        double[] o = new double[d.b * d.t * d.h * d.dv];
        double[] last = new double[d.b * d.h * d.dv * d.dk];
        for (int b = 0; b < d.b; b++) {
            for (int h = 0; h < d.h; h++) {
                double[][] st = new double[d.dv][d.dk];
                for (int p = 0; s0 != null && p < d.dv; p++) {
                    st[p] = s0[b][h][p].clone();
                }
                for (int t = 0; t < d.t; t++) {
                    for (int p = 0; p < d.dv; p++) {
                        double out = 0;
                        for (int n = 0; n < d.dk; n++) {
                            st[p][n] = gamma[h] * st[p][n] + va[b][t][h][p] * ka[b][t][h][n];
                            out += st[p][n] * qa[b][t][h][n];
                        }
                        o[((b * d.t + t) * d.h + h) * d.dv + p] = out;
                    }
                }
                for (int p = 0; p < d.dv; p++) {
                    for (int n = 0; n < d.dk; n++) {
                        last[((b * d.h + h) * d.dv + p) * d.dk + n] = st[p][n];
                    }
                }
            }
        }
        return new Result(
                Nd4j.create(o, new long[] {d.b, d.t, d.h, d.dv}, 'c'),
                Nd4j.create(last, new long[] {d.b, d.h, d.dv, d.dk}, 'c'));
    }

    private record Dims(int b, int t, int h, int dk, int dv) {
        static Dims of(INDArray q, INDArray k, INDArray v, double[] gamma) {
            if (q.rank() != 4
                    || !Arrays.equals(q.shape(), k.shape())
                    || v.rank() != 4
                    || v.size(0) != q.size(0)
                    || v.size(1) != q.size(1)
                    || v.size(2) != q.size(2)
                    || gamma.length != q.size(2)) {
                throw new IllegalArgumentException("retention reference: expected q, k [b, T, H, d_k], v [b, T, H, d_v]"
                        + " and H decays but found q " + Arrays.toString(q.shape()) + ", k "
                        + Arrays.toString(k.shape())
                        + ", v " + Arrays.toString(v.shape()) + " and " + gamma.length + " decays");
            }
            return new Dims((int) q.size(0), (int) q.size(1), (int) q.size(2), (int) q.size(3), (int) v.size(3));
        }
    }

    /** A rank-4 array's values in double. */
    private static double[][][][] values(INDArray a) {
        INDArray d = a.castTo(DataType.DOUBLE).dup('c');
        int n0 = (int) d.size(0);
        int n1 = (int) d.size(1);
        int n2 = (int) d.size(2);
        int n3 = (int) d.size(3);
        double[] flat = d.reshape(d.length()).toDoubleVector();
        double[][][][] out = new double[n0][n1][n2][n3];
        int i = 0;
        for (int a0 = 0; a0 < n0; a0++) {
            for (int a1 = 0; a1 < n1; a1++) {
                for (int a2 = 0; a2 < n2; a2++) {
                    for (int a3 = 0; a3 < n3; a3++) {
                        out[a0][a1][a2][a3] = flat[i++];
                    }
                }
            }
        }
        return out;
    }
}
