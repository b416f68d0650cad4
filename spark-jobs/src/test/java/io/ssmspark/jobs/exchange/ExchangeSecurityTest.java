package io.ssmspark.jobs.exchange;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The handshake's building blocks: which settings ask for what, and the key derivation against its RFC. */
class ExchangeSecurityTest {
    @Test
    void encryptionWithoutAuthenticationIsRefusedNamingTheSettings() {
        for (String setting : List.of("spark.network.crypto.enabled", "spark.ssl.enabled")) {
            SparkConf conf = new SparkConf(false).set(setting, "true");
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> ExchangeSecurity.fromSpark(conf));
            assertTrue(e.getMessage().contains(setting + "=true"), e.getMessage());
            assertTrue(e.getMessage().contains("needs spark.authenticate=true"), e.getMessage());
        }
        assertEquals(ExchangeSecurity.NONE, ExchangeSecurity.fromSpark(new SparkConf(false)));
    }

    /** HKDF-SHA256 against RFC 5869's test case 1, cut to our 32 bytes. */
    @Test
    void hkdfMatchesRfc5869() {
        byte[] ikm = new byte[22];
        Arrays.fill(ikm, (byte) 0x0b);
        byte[] okm = ExchangeHandshake.hkdf(ikm, hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"));
        assertArrayEquals(hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"), okm);
    }

    private static byte[] hex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }
}
