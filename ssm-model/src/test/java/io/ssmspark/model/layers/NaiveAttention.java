package io.ssmspark.model.layers;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A loop-by-loop fp64 transcription of the MHA definition, independent of {@link Attention}'s batched layout:
 * projection, half-split rotary at absolute positions, causal (optionally windowed) softmax over past ++ current
 * keys with query head h reading kv head h / (H/Hkv), output projection.
 */
final class NaiveAttention {

    private NaiveAttention() {}

    static INDArray forward(
            INDArray xArr, Attention.Weights w, Attention.Spec s, long offset, INDArray pastK, INDArray pastV) {
        int b = (int) xArr.size(0);
        int t = (int) xArr.size(1);
        int d = (int) xArr.size(2);
        int h = s.numHeads();
        int hkv = s.numHeadsKv();
        int hd = s.headDim();
        int past = pastK == null ? 0 : (int) pastK.size(1);
        double[][] inW = w.inProjWeight().castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] outW = w.outProjWeight().castTo(DataType.DOUBLE).toDoubleMatrix();
        double[] inB = w.inProjBias() == null
                ? null
                : w.inProjBias().castTo(DataType.DOUBLE).toDoubleVector();
        double[] outB = w.outProjBias() == null
                ? null
                : w.outProjBias().castTo(DataType.DOUBLE).toDoubleVector();
        INDArray out = Nd4j.zeros(DataType.DOUBLE, b, t, d);
        for (int bi = 0; bi < b; bi++) {
            double[][] qkv = new double[t][inW.length];
            for (int ti = 0; ti < t; ti++) {
                for (int m = 0; m < inW.length; m++) {
                    double acc = inB == null ? 0 : inB[m];
                    for (int i = 0; i < d; i++) {
                        acc += xArr.getDouble(bi, ti, i) * inW[m][i];
                    }
                    qkv[ti][m] = acc;
                }
            }
            double[][][] q = new double[t][h][];
            double[][][] k = new double[past + t][hkv][];
            double[][][] v = new double[past + t][hkv][];
            for (int j = 0; j < past; j++) {
                for (int g = 0; g < hkv; g++) {
                    k[j][g] = new double[hd];
                    v[j][g] = new double[hd];
                    for (int e = 0; e < hd; e++) {
                        k[j][g][e] = pastK.getDouble(bi, j, g, e);
                        v[j][g][e] = pastV.getDouble(bi, j, g, e);
                    }
                }
            }
            for (int ti = 0; ti < t; ti++) {
                long pos = offset + ti;
                for (int hh = 0; hh < h; hh++) {
                    q[ti][hh] = rotate(slice(qkv[ti], hh * hd, hd), pos, s);
                }
                for (int g = 0; g < hkv; g++) {
                    k[past + ti][g] = rotate(slice(qkv[ti], (h + g) * hd, hd), pos, s);
                    v[past + ti][g] = slice(qkv[ti], (h + hkv + g) * hd, hd);
                }
            }
            for (int ti = 0; ti < t; ti++) {
                double[] ctx = new double[h * hd];
                for (int hh = 0; hh < h; hh++) {
                    int g = hh / (h / hkv);
                    int last = past + ti;
                    int first = s.windowSize() > 0 ? Math.max(0, last - s.windowSize() + 1) : 0;
                    double[] score = new double[last + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = first; j <= last; j++) {
                        double dot = 0;
                        for (int e = 0; e < hd; e++) {
                            dot += q[ti][hh][e] * k[j][g][e];
                        }
                        score[j] = dot * s.scale();
                        max = Math.max(max, score[j]);
                    }
                    double sum = 0;
                    for (int j = first; j <= last; j++) {
                        score[j] = Math.exp(score[j] - max);
                        sum += score[j];
                    }
                    for (int j = first; j <= last; j++) {
                        for (int e = 0; e < hd; e++) {
                            ctx[hh * hd + e] += score[j] / sum * v[j][g][e];
                        }
                    }
                }
                for (int o = 0; o < d; o++) {
                    double acc = outB == null ? 0 : outB[o];
                    for (int c = 0; c < ctx.length; c++) {
                        acc += ctx[c] * outW[o][c];
                    }
                    out.putScalar(new long[] {bi, ti, o}, acc);
                }
            }
        }
        return out;
    }

    private static double[] slice(double[] row, int from, int len) {
        double[] r = new double[len];
        System.arraycopy(row, from, r, 0, len);
        return r;
    }

    private static double[] rotate(double[] x, long pos, Attention.Spec s) {
        int rd = s.rotaryDim();
        double[] out = x.clone();
        for (int i = 0; i < rd / 2; i++) {
            double angle = pos * Math.pow(s.rotaryBase(), -2.0 * i / rd);
            double x1 = x[i];
            double x2 = x[i + rd / 2];
            out[i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
            out[i + rd / 2] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
        }
        return out;
    }
}
