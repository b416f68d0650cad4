package io.ssmspark.model.checkpoint;

/** Conversion of IEEE-754 binary16 (F16) and bfloat16 (BF16) bit patterns to float. */
final class HalfFloats {
    /** All 65536 F16 values, so the conversion loop is a table lookup. */
    private static final float[] F16_TABLE = new float[1 << 16];

    static {
        for (int bits = 0; bits < F16_TABLE.length; bits++) {
            F16_TABLE[bits] = decodeF16(bits);
        }
    }

    private HalfFloats() {}

    static float f16ToFloat(short bits) {
        return F16_TABLE[bits & 0xFFFF];
    }

    /** bfloat16 is the upper half of a float32: shift it back into place. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. */
    private static float decodeF16(int bits) {
        int sign = (bits >>> 15) & 1;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        float magnitude;
        if (exponent == 0) {
            magnitude = mantissa * 0x1p-24f; // subnormal: mantissa * 2^-14 * 2^-10
        } else if (exponent == 0x1F) {
            magnitude = mantissa == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else {
            magnitude = Math.scalb(1f + mantissa / 1024f, exponent - 15);
        }
        return sign == 1 ? -magnitude : magnitude;
    }
}
