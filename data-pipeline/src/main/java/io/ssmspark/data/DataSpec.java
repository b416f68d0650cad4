package io.ssmspark.data;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A parsed {@code --data} value: a path, directory or glob (any Hadoop URI), or a built-in
 * synthetic corpus {@code synthetic:NAME} with optional parameters, e.g. {@code
 * synthetic:genome?documents=200&length=4096&seed=7}.
 */
public final class DataSpec {
    public static final String SYNTHETIC_PREFIX = "synthetic:";

    private final String text;
    private final String syntheticName;
    private final Map<String, String> parameters;

    private DataSpec(String text, String syntheticName, Map<String, String> parameters) {
        this.text = text;
        this.syntheticName = syntheticName;
        this.parameters = Collections.unmodifiableMap(parameters);
    }

    public static DataSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("data spec must not be blank");
        }
        if (!spec.startsWith(SYNTHETIC_PREFIX)) {
            return new DataSpec(spec, null, Map.of());
        }
        String rest = spec.substring(SYNTHETIC_PREFIX.length());
        int q = rest.indexOf('?');
        String name = q < 0 ? rest : rest.substring(0, q);
        if (name.isEmpty()) {
            throw new IllegalArgumentException("data spec '" + spec + "': missing corpus name after 'synthetic:'");
        }
        Map<String, String> params = new LinkedHashMap<>();
        if (q >= 0 && q + 1 < rest.length()) {
            for (String kv : rest.substring(q + 1).split("&")) {
                int eq = kv.indexOf('=');
                if (eq <= 0 || eq == kv.length() - 1) {
                    throw new IllegalArgumentException(
                            "data spec '" + spec + "': parameter '" + kv + "' is not of the form key=value");
                }
                params.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return new DataSpec(spec, name, params);
    }

    public boolean isSynthetic() {
        return syntheticName != null;
    }

    /** The path, directory or glob (for non-synthetic specs). */
    public String path() {
        return text;
    }

    public String syntheticName() {
        return syntheticName;
    }

    public Map<String, String> parameters() {
        return parameters;
    }

    @Override
    public String toString() {
        return text;
    }
}
