package io.ssmspark.model.s4d;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A complex array held as its real and imaginary parts, two real INDArrays of one shape (or shapes that broadcast
 * numpy-style), with the elementwise complex arithmetic the S4D kernels use. Every operation returns new arrays and
 * leaves its operands untouched, except the {@code …i} forms, which write into this array's parts.
 *
 * <p>Gradients of a real loss L with respect to a complex z are held the same way, as ∂L/∂Re z + i·∂L/∂Im z; then
 * for w = f(z) holomorphic the chain rule reads dz = conj(f'(z))·dw, and for w = a·z it reads dz = conj(a)·dw.
 */
public record Cx(INDArray re, INDArray im) {

    /** A real array as a complex one (imaginary part zero). */
    public static Cx real(INDArray re) {
        return new Cx(re, re.ulike().assign(0));
    }

    public long[] shape() {
        return re.shape();
    }

    public Cx conj() {
        return new Cx(re, im.neg());
    }

    /** this · o. */
    public Cx mul(Cx o) {
        return new Cx(re.mul(o.re).subi(im.mul(o.im)), re.mul(o.im).addi(im.mul(o.re)));
    }

    /** conj(this) · o. */
    public Cx conjMul(Cx o) {
        return new Cx(re.mul(o.re).addi(im.mul(o.im)), re.mul(o.im).subi(im.mul(o.re)));
    }

    /** this · r for a real array r. */
    public Cx mul(INDArray r) {
        return new Cx(re.mul(r), im.mul(r));
    }

    public Cx mul(double r) {
        return new Cx(re.mul(r), im.mul(r));
    }

    /** this / o. */
    public Cx div(Cx o) {
        INDArray norm = o.re.mul(o.re).addi(o.im.mul(o.im));
        return new Cx(
                re.mul(o.re).addi(im.mul(o.im)).divi(norm),
                im.mul(o.re).subi(re.mul(o.im)).divi(norm));
    }

    public Cx add(Cx o) {
        return new Cx(re.add(o.re), im.add(o.im));
    }

    /** this += o, in place (o of this shape or broadcast to it). */
    public Cx addi(Cx o) {
        re.addi(o.re);
        im.addi(o.im);
        return this;
    }

    /** The sum over {@code axis}, kept as a size-1 axis. */
    public Cx sum(int axis) {
        return new Cx(re.sum(true, axis), im.sum(true, axis));
    }

    /** Both parts viewed (or copied, when not contiguous) as {@code shape}. */
    public Cx reshape(long... shape) {
        return new Cx(re.reshape('c', shape), im.reshape('c', shape));
    }

    /** Dense c-ordered copies of both parts. */
    public Cx dup() {
        return new Cx(re.dup('c'), im.dup('c'));
    }

    /** e^z = e^Re z · (cos Im z + i sin Im z). */
    public static Cx exp(Cx z) {
        INDArray mag = Transforms.exp(z.re, true);
        return new Cx(
                Transforms.cos(z.im, true).muli(mag), Transforms.sin(z.im, true).muli(mag));
    }

    /**
     * e^z − 1, accurate for small z: Re = expm1(Re z)·cos(Im z) − 2 sin²(Im z / 2), Im = e^Re z · sin(Im z).
     */
    public static Cx expm1(Cx z) {
        INDArray half = Transforms.sin(z.im.mul(0.5), false);
        INDArray re = Transforms.expm1(z.re, true)
                .muli(Transforms.cos(z.im, true))
                .subi(half.muli(half).muli(2));
        INDArray im = Transforms.sin(z.im, true).muli(Transforms.exp(z.re, true));
        return new Cx(re, im);
    }
}
