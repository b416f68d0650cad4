package io.ssmspark.model.s4d;

/**
 * Discretisations of one diagonal mode x' = a·x + b·u (a complex, b = 1 unless given) with step Δ, in plain
 * complex arithmetic on (re, im) pairs. The S4D mixer discretises with zero-order hold ({@link S4dKernel#zoh}, the
 * same formula on arrays); the bilinear transform is here for comparison and the goldens.
 */
public final class Discretization {

    private Discretization() {}

    /** Ā and B̄ of one mode: {re(Ā), im(Ā), re(B̄), im(B̄)}. */
    public record Mode(double aRe, double aIm, double bRe, double bIm) {}

    /** Zero-order hold with B = 1: Ā = exp(Δa), B̄ = a⁻¹(Ā − 1) (a ≠ 0). */
    public static Mode zoh(double aRe, double aIm, double dt) {
        return zoh(aRe, aIm, dt, 1, 0);
    }

    /** Zero-order hold: Ā = exp(Δa), B̄ = a⁻¹(Ā − 1)·b, with Ā − 1 from expm1 so small Δa loses nothing. */
    public static Mode zoh(double aRe, double aIm, double dt, double bRe, double bIm) {
        double x = dt * aRe;
        double y = dt * aIm;
        double mag = Math.exp(x);
        double barRe = mag * Math.cos(y);
        double barIm = mag * Math.sin(y);
        double half = Math.sin(y / 2);
        double m1Re = Math.expm1(x) * Math.cos(y) - 2 * half * half; // Re(Ā − 1)
        double[] q = div(m1Re, barIm, aRe, aIm);
        double[] bb = mul(q[0], q[1], bRe, bIm);
        return new Mode(barRe, barIm, bb[0], bb[1]);
    }

    /** The bilinear (Tustin) transform with B = 1: Ā = (1 + Δa/2)/(1 − Δa/2), B̄ = Δ/(1 − Δa/2). */
    public static Mode bilinear(double aRe, double aIm, double dt) {
        return bilinear(aRe, aIm, dt, 1, 0);
    }

    /** The bilinear transform: Ā = (1 + Δa/2)/(1 − Δa/2), B̄ = Δ·b/(1 − Δa/2). */
    public static Mode bilinear(double aRe, double aIm, double dt, double bRe, double bIm) {
        double hRe = dt * aRe / 2;
        double hIm = dt * aIm / 2;
        double[] abar = div(1 + hRe, hIm, 1 - hRe, -hIm);
        double[] inv = div(dt, 0, 1 - hRe, -hIm);
        double[] bb = mul(inv[0], inv[1], bRe, bIm);
        return new Mode(abar[0], abar[1], bb[0], bb[1]);
    }

    private static double[] mul(double ar, double ai, double br, double bi) {
        return new double[] {ar * br - ai * bi, ar * bi + ai * br};
    }

    private static double[] div(double ar, double ai, double br, double bi) {
        double n = br * br + bi * bi;
        return new double[] {(ar * br + ai * bi) / n, (ai * br - ar * bi) / n};
    }
}
