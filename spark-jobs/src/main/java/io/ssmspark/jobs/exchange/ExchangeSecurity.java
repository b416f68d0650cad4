package io.ssmspark.jobs.exchange;

import java.nio.charset.StandardCharsets;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;

/**
 * How the segment exchange protects itself, read from the Spark settings that protect Spark's own RPC: with
 * {@code spark.authenticate} every connection proves it holds the application's secret ({@link ExchangeHandshake});
 * with {@code spark.network.crypto.enabled} or {@code spark.ssl.enabled} as well, every frame after the handshake is
 * encrypted and authenticated ({@link SecureChannel}). Without {@code spark.authenticate} a connection presents the
 * hub's random token, which travels in the task closure.
 *
 * @param secret the application's secret; null without spark.authenticate
 * @param encrypted whether frames after the handshake are encrypted (only with a secret)
 */
record ExchangeSecurity(byte[] secret, boolean encrypted) {
    static final String AUTHENTICATE = "spark.authenticate";
    static final String NETWORK_CRYPTO = "spark.network.crypto.enabled";
    static final String SSL = "spark.ssl.enabled";

    static final ExchangeSecurity NONE = new ExchangeSecurity(null, false);

    ExchangeSecurity {
        if (encrypted && secret == null) {
            throw new IllegalArgumentException("an encrypted exchange needs a secret");
        }
    }

    boolean authenticated() {
        return secret != null;
    }

    /**
     * The driver's side: from {@code conf}, with the secret of Spark's SecurityManager (the one Spark's RPC uses,
     * generated in local mode and on YARN, else spark.authenticate.secret). IllegalArgumentException naming the
     * settings when encryption is asked for without authentication: the keys come from the secret.
     */
    static ExchangeSecurity fromSpark(SparkConf conf) {
        boolean authenticate = conf.getBoolean(AUTHENTICATE, false);
        boolean encrypt = conf.getBoolean(NETWORK_CRYPTO, false) || conf.getBoolean(SSL, false);
        if (encrypt && !authenticate) {
            throw new IllegalArgumentException(
                    "segment exchange: " + NETWORK_CRYPTO + "=" + conf.get(NETWORK_CRYPTO, "false")
                            + " and " + SSL + "=" + conf.get(SSL, "false") + " ask for encryption, which needs "
                            + AUTHENTICATE + "=true (the keys are derived from the application's secret); set "
                            + AUTHENTICATE + "=true, with spark.authenticate.secret where the cluster manager does not"
                            + " provide one");
        }
        return authenticate ? new ExchangeSecurity(sparkSecret(), encrypt) : NONE;
    }

    /**
     * The application's secret from this JVM's SparkEnv: on the driver and on every executor, Spark's SecurityManager
     * holds it (so it never travels in a task closure).
     */
    static byte[] sparkSecret() {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            throw new IllegalStateException(
                    "segment exchange: " + AUTHENTICATE + " is on but this JVM runs no Spark driver or executor");
        }
        String secret = env.securityManager().getSecretKey();
        if (secret == null || secret.isEmpty()) {
            throw new IllegalStateException(
                    "segment exchange: " + AUTHENTICATE + " is on but Spark's SecurityManager holds no secret");
        }
        return secret.getBytes(StandardCharsets.UTF_8);
    }
}
