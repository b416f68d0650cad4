package io.ssmspark.data;

import java.nio.charset.StandardCharsets;

/** Small, fixed hash functions, so that splits and shuffles come out the same on every machine. */
public final class Hashing {
    private Hashing() {}

    /** SplitMix64's finaliser: a bijective mix of 64 bits. */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** FNV-1a over the UTF-8 bytes of {@code s}, then {@link #mix64}. */
    public static long hashId(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix64(h);
    }

    /** Maps a hash to [0, 1) using its top 53 bits. */
    public static double unitInterval(long hash) {
        return (hash >>> 11) * 0x1.0p-53;
    }
}
