package io.ssmspark.data.synthetic;

import io.ssmspark.data.Vocabulary;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Templated service logs as ASCII bytes. A document is {@code lines} lines from one host, each
 * {@code TIMESTAMP LEVEL [service] message\n}: the first timestamp is uniform over one day of
 * 2024-03-01 (ms resolution), each next one 1..2000 ms later; one of six message templates
 * (weights 0.40 0.20 0.15 0.10 0.10 0.05) with request ids (8 hex digits), users, IP addresses,
 * durations and paths drawn uniformly.
 *
 * <p>Ids: 0..127 are ASCII bytes (only printable characters and '\n' occur), 255 is the
 * separator; 256 ids, so a byte-level model with vocab_size 256 takes it. Default: lines 32.
 *
 * <p>Ideal model: every draw can be read back from the text, so the tracked sum of the draws'
 * log probabilities is the exact ideal loss; no accuracy figure is defined.
 *
 * <p>With the defaults and seed 1 (first 64 documents, separators counted): ideal loss 0.4590 nats/token,
 * unigram loss 3.6651 nats/token.
 */
public final class LogStream extends SyntheticCorpus {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "log-stream";
    public static final int SEPARATOR = 255;

    private static final long DAY_START_MS = 1709251200000L; // 2024-03-01T00:00:00Z
    private static final String[] SERVICES = {"api", "auth", "billing", "search"};
    private static final String[] PATHS = {"users", "orders", "items", "cart", "login", "health", "search", "report"};
    private static final String[] ERRORS = {
        "TimeoutException", "ConnectionReset", "NullPointerException", "QuotaExceeded"
    };
    private static final double[] TEMPLATE_WEIGHTS = {0.40, 0.20, 0.15, 0.10, 0.10, 0.05};
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final int lines;
    private final Vocabulary vocabulary;

    LogStream(Params p) {
        super(NAME, p);
        lines = p.getInt("lines", 32, 1, 1 << 20);
        vocabulary = Vocabulary.synthetic(
                NAME,
                256,
                SEPARATOR,
                Map.of("<sep>", SEPARATOR),
                "ids 0..127 are ASCII bytes of log lines, 255 separates documents");
    }

    @Override
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    @Override
    protected int[] generateTokens(TrackedRandom rnd) {
        StringBuilder sb = new StringBuilder(lines * 80);
        long ms = DAY_START_MS + rnd.uniform(86_400_000);
        for (int line = 0; line < lines; line++) {
            if (line > 0) {
                ms += 1 + rnd.uniform(2000);
            }
            sb.append(timestamp(ms)).append(' ');
            int template = rnd.weighted(TEMPLATE_WEIGHTS);
            String service = SERVICES[rnd.uniform(SERVICES.length)];
            switch (template) {
                case 0:
                    sb.append("INFO [")
                            .append(service)
                            .append("] request id=")
                            .append(hex(rnd))
                            .append(" path=/api/")
                            .append(PATHS[rnd.uniform(PATHS.length)])
                            .append(" status=200 took=")
                            .append(1 + rnd.uniform(999))
                            .append("ms");
                    break;
                case 1:
                    sb.append("INFO [")
                            .append(service)
                            .append("] user ")
                            .append(1000 + rnd.uniform(9000))
                            .append(" logged in from 10.")
                            .append(rnd.uniform(256))
                            .append('.')
                            .append(rnd.uniform(256))
                            .append('.')
                            .append(rnd.uniform(256));
                    break;
                case 2:
                    sb.append("WARN [")
                            .append(service)
                            .append("] slow query id=")
                            .append(hex(rnd))
                            .append(" took=")
                            .append(1000 + rnd.uniform(9000))
                            .append("ms");
                    break;
                case 3:
                    sb.append("DEBUG [")
                            .append(service)
                            .append("] cache hit key=")
                            .append(hex(rnd));
                    break;
                case 4:
                    sb.append("ERROR [")
                            .append(service)
                            .append("] request id=")
                            .append(hex(rnd))
                            .append(" failed: ")
                            .append(ERRORS[rnd.uniform(ERRORS.length)]);
                    break;
                default:
                    sb.append("INFO [")
                            .append(service)
                            .append("] heartbeat seq=")
                            .append(line);
            }
            sb.append('\n');
        }
        byte[] bytes = sb.toString().getBytes(StandardCharsets.US_ASCII);
        int[] doc = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            doc[i] = bytes[i];
        }
        return doc;
    }

    private static String hex(TrackedRandom rnd) {
        char[] c = new char[8];
        for (int i = 0; i < 8; i++) {
            c[i] = HEX[rnd.uniform(16)];
        }
        return new String(c);
    }

    /** yyyy-MM-ddTHH:mm:ss.SSSZ, always 24 characters. */
    static String timestamp(long epochMs) {
        return java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
                .withZone(java.time.ZoneOffset.UTC)
                .format(java.time.Instant.ofEpochMilli(epochMs));
    }

    @Override
    protected String idealNote() {
        return "";
    }

    @Override
    protected String taskDescription() {
        return "Service logs: " + lines + " templated lines per document with timestamps, ids, users and durations.";
    }
}
