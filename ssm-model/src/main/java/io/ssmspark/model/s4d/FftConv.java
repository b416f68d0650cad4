package io.ssmspark.model.s4d;

import io.ssmspark.model.tensor.Shapes;
import org.jtransforms.fft.DoubleFFT_1D;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Causal convolutions of many rows with one kernel per channel, and their two correlations (the backward), by real
 * FFTs of one size n (JTransforms, in fp64 whatever the arrays' dtype). Signals are [H, B, L] arrays: row (h, b) is
 * convolved with channel h's kernel. Both operands are zero-padded to n, so a circular product is the linear one
 * as long as n ≥ L_K + L_u − 1 (the constructor's {@code minLength}); each row costs O(n log n).
 *
 * <p>Spectra are JTransforms' packed real spectra: s[0] = Re X_0, s[1] = Re X_{n/2}, s[2k] = Re X_k,
 * s[2k+1] = Im X_k for 0 &lt; k &lt; n/2.
 */
public final class FftConv {
    private final int n;
    private final DoubleFFT_1D fft;

    /** Transforms of the smallest power of two (at least 2) that is ≥ {@code minLength}. */
    public FftConv(long minLength) {
        long size = 2;
        while (size < minLength) {
            size <<= 1;
        }
        if (size > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException(
                    "FFT length " + size + " for a product of length " + minLength + " is too large");
        }
        this.n = (int) size;
        this.fft = new DoubleFFT_1D(n);
    }

    /** The transform length n. */
    public int size() {
        return n;
    }

    /** y[r, t] = Σ_{s ≤ t} k[r, s]·u[t − s] for every row: kernel k [H, L_K], u [H, B, L_u] → [H, B, L_u]. */
    public static INDArray causalConvolution(INDArray kernel, INDArray u) {
        FftConv f = new FftConv(kernel.size(1) + u.size(2) - 1);
        return f.convolve(f.spectra(kernel), u);
    }

    /** The packed spectra of the rows of x [rows, len] (len ≤ n), zero-padded to n. */
    public double[][] spectra(INDArray x) {
        int rows = (int) x.size(0);
        int len = (int) x.size(1);
        requireFits(len);
        double[] v = values(x);
        double[][] out = new double[rows][];
        for (int r = 0; r < rows; r++) {
            double[] s = new double[n];
            System.arraycopy(v, r * len, s, 0, len);
            fft.realForward(s);
            out[r] = s;
        }
        return out;
    }

    /** Row (h, b) of u [H, B, L] convolved causally with the kernel of spectrum {@code kernel[h]}: [H, B, L]. */
    public INDArray convolve(double[][] kernel, INDArray u) {
        int h = (int) u.size(0);
        int b = (int) u.size(1);
        int len = (int) u.size(2);
        requireFits(len);
        requireChannels(kernel, h);
        double[] v = values(u);
        double[] out = new double[v.length];
        double[] work = new double[n];
        for (int r = 0; r < h * b; r++) {
            load(v, r, len, work);
            fft.realForward(work);
            multiply(kernel[r / b], work, false);
            fft.realInverse(work, true);
            System.arraycopy(work, 0, out, r * len, len);
        }
        return toArray(out, u.dataType(), h, b, len);
    }

    /**
     * The backward of {@link #convolve} for the output gradient dy [H, B, L]: returns du[r, j] = Σ_s k[s]·dy[r, j + s]
     * and adds into {@code kernelGrad[h]} the spectrum of Σ_b of the correlation dk[s] = Σ_j u[r, j]·dy[r, j + s]
     * (invert the sum with {@link #inverse} once every call has added into it).
     */
    public INDArray backward(double[][] kernel, INDArray u, INDArray dy, double[][] kernelGrad) {
        int h = (int) u.size(0);
        int b = (int) u.size(1);
        int len = (int) u.size(2);
        requireFits(len);
        requireChannels(kernel, h);
        requireChannels(kernelGrad, h);
        double[] uv = values(u);
        double[] dv = values(dy);
        if (uv.length != dv.length) {
            throw new IllegalArgumentException("FFT backward: u and dy differ in length");
        }
        double[] out = new double[dv.length];
        double[] dSpec = new double[n];
        double[] uSpec = new double[n];
        double[] work = new double[n];
        for (int r = 0; r < h * b; r++) {
            load(dv, r, len, dSpec);
            fft.realForward(dSpec);
            load(uv, r, len, uSpec);
            fft.realForward(uSpec);
            double[] acc = kernelGrad[r / b];
            accumulateConjProduct(uSpec, dSpec, acc);
            System.arraycopy(dSpec, 0, work, 0, n);
            multiply(kernel[r / b], work, true);
            fft.realInverse(work, true);
            System.arraycopy(work, 0, out, r * len, len);
        }
        return toArray(out, u.dataType(), h, b, len);
    }

    /** Fresh zero spectra for {@link #backward}'s kernel gradient, one per channel. */
    public double[][] zeroSpectra(int channels) {
        return new double[channels][n];
    }

    /** The first {@code len} values of the inverse transform of each spectrum: [rows, len] of {@code dtype}. */
    public INDArray inverse(double[][] spectra, int len, DataType dtype) {
        requireFits(len);
        double[] out = new double[spectra.length * len];
        double[] work = new double[n];
        for (int r = 0; r < spectra.length; r++) {
            System.arraycopy(spectra[r], 0, work, 0, n);
            fft.realInverse(work, true);
            System.arraycopy(work, 0, out, r * len, len);
        }
        return toArray(out, dtype, spectra.length, len);
    }

    /** x ← a·x (or conj(a)·x) on packed spectra. */
    private void multiply(double[] a, double[] x, boolean conjugate) {
        x[0] *= a[0];
        x[1] *= a[1];
        double sign = conjugate ? -1 : 1;
        for (int k = 2; k < n; k += 2) {
            double ar = a[k];
            double ai = sign * a[k + 1];
            double xr = x[k];
            double xi = x[k + 1];
            x[k] = ar * xr - ai * xi;
            x[k + 1] = ar * xi + ai * xr;
        }
    }

    /** acc += conj(a)·x on packed spectra. */
    private void accumulateConjProduct(double[] a, double[] x, double[] acc) {
        acc[0] += a[0] * x[0];
        acc[1] += a[1] * x[1];
        for (int k = 2; k < n; k += 2) {
            double ar = a[k];
            double ai = a[k + 1];
            double xr = x[k];
            double xi = x[k + 1];
            acc[k] += ar * xr + ai * xi;
            acc[k + 1] += ar * xi - ai * xr;
        }
    }

    /** Row r of the [rows, len] values into work, zero-padded to n. */
    private void load(double[] v, int r, int len, double[] work) {
        System.arraycopy(v, r * len, work, 0, len);
        java.util.Arrays.fill(work, len, n, 0.0);
    }

    private void requireFits(int len) {
        if (len > n) {
            throw new IllegalArgumentException("FFT of length " + n + " cannot hold rows of length " + len);
        }
    }

    private static void requireChannels(double[][] spectra, int h) {
        if (spectra.length != h) {
            throw new IllegalArgumentException("FFT: " + spectra.length + " kernel spectra for " + h + " channels");
        }
    }

    private static double[] values(INDArray x) {
        INDArray c = Shapes.contiguous(x);
        return c.reshape(c.length()).toDoubleVector();
    }

    private static INDArray toArray(double[] v, DataType dtype, long... shape) {
        INDArray a = Nd4j.create(v, shape, 'c');
        return dtype == DataType.DOUBLE ? a : a.castTo(dtype);
    }
}
