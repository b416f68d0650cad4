package io.ssmspark.model.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Element encodings for test fixtures: F64, F32, and F16 / BF16 of values exact in them. */
public final class TestEncodings {
    private TestEncodings() {}

    /** The nearest float16 value (ties to even). */
    static float roundToF16(double value) {
        return HalfFloats.f16ToFloat(toF16Bits(value));
    }

    static float roundToBf16(double value) {
        int bits = Float.floatToRawIntBits((float) value);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1); // round to nearest, ties to even
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }

    /** binary16 bits of {@code v}, rounded to nearest even (subnormals included; |v| within range). */
    static short toF16Bits(double value) {
        float v = (float) value;
        int sign = Float.floatToRawIntBits(v) >>> 31;
        float a = Math.abs(v);
        if (a == 0) {
            return (short) (sign << 15);
        }
        if (a >= 65520f) {
            throw new IllegalArgumentException(v + " is outside float16's range");
        }
        int exponent = Math.max(Math.getExponent(a), -14); // below 2^-14: subnormal, spacing 2^-24
        double quantum = Math.scalb(1.0, exponent - 10);
        long q = Math.round(Math.rint(a / quantum)); // exact in double; rint rounds ties to even
        if (q == 2048) { // rounded up to the next binade
            q = 1024;
            exponent++;
        }
        int bits;
        if (q < 1024) {
            bits = (int) q; // subnormal (exponent -14)
        } else {
            bits = (exponent + 15) << 10 | (int) (q - 1024);
        }
        return (short) (sign << 15 | bits);
    }

    /** The elements of {@code t} in c order, encoded as {@code dtype} ("F32", "F16", "BF16", "F64"). */
    public static byte[] encode(INDArray t, String dtype, ByteOrder order) {
        float[] v = t.castTo(DataType.FLOAT).dup('c').data().asFloat();
        double[] d = t.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        int item = switch (dtype) {
            case "F64" -> 8;
            case "F32" -> 4;
            default -> 2;
        };
        ByteBuffer b = ByteBuffer.allocate((int) t.length() * item).order(order);
        for (int i = 0; i < v.length; i++) {
            switch (dtype) {
                case "F64" -> b.putDouble(d[i]);
                case "F32" -> b.putFloat(v[i]);
                case "BF16" -> {
                    int bits = Float.floatToRawIntBits(v[i]);
                    if ((bits & 0xFFFF) != 0) {
                        throw new IllegalArgumentException(v[i] + " is not exact in bfloat16");
                    }
                    b.putShort((short) (bits >>> 16));
                }
                case "F16" -> {
                    short h = toF16Bits(v[i]);
                    if (HalfFloats.f16ToFloat(h) != v[i]) {
                        throw new IllegalArgumentException(v[i] + " is not exact in float16");
                    }
                    b.putShort(h);
                }
                default -> throw new IllegalArgumentException(dtype);
            }
        }
        return b.array();
    }
}
