package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.IntFunction;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * Exhaustive check of the F16 and BF16 decoders: the CRC-32 of the float32 bits (little-endian, NaNs
 * made canonical 0x7FC00000) of all 65536 patterns, against the same CRC computed once with numpy:
 * {@code np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)}
 * and {@code (np.arange(65536, dtype=np.uint32) << 16).view(np.float32)}.
 */
class HalfFloatsTest {
    @Test
    void everyF16PatternDecodesAsNumpyDoes() {
        assertEquals(807454631L, crcOfAll(bits -> HalfFloats.f16ToFloat((short) bits)));
    }

    @Test
    void everyBf16PatternDecodesAsNumpyDoes() {
        assertEquals(684059956L, crcOfAll(bits -> HalfFloats.bf16ToFloat((short) bits)));
    }

    private static long crcOfAll(IntFunction<Float> decode) {
        ByteBuffer buf = ByteBuffer.allocate(4 * 65536).order(ByteOrder.LITTLE_ENDIAN);
        for (int bits = 0; bits < 65536; bits++) {
            float f = decode.apply(bits);
            buf.putInt(Float.isNaN(f) ? 0x7FC00000 : Float.floatToRawIntBits(f));
        }
        CRC32 crc = new CRC32();
        crc.update(buf.array());
        return crc.getValue();
    }
}
