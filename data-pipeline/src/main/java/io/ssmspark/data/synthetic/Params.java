package io.ssmspark.data.synthetic;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Reads a synthetic corpus's parameters from a spec's key=value pairs; rejects unknown keys. */
final class Params {
    private final String corpus;
    private final Map<String, String> values;
    private final Set<String> known = new HashSet<>();

    Params(String corpus, Map<String, String> values) {
        this.corpus = corpus;
        this.values = values;
    }

    long getLong(String key, long defaultValue, long min, long max) {
        known.add(key);
        String v = values.get(key);
        long x;
        try {
            x = v == null ? defaultValue : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "synthetic:" + corpus + ": parameter '" + key + "' must be an integer, found '" + v + "'");
        }
        if (x < min || x > max) {
            throw new IllegalArgumentException("synthetic:" + corpus + ": parameter '" + key + "' must be in [" + min
                    + ", " + max + "], found " + x);
        }
        return x;
    }

    int getInt(String key, int defaultValue, int min, int max) {
        return (int) getLong(key, defaultValue, min, max);
    }

    double getDouble(String key, double defaultValue, double min, double max) {
        known.add(key);
        String v = values.get(key);
        double x;
        try {
            x = v == null ? defaultValue : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "synthetic:" + corpus + ": parameter '" + key + "' must be a number, found '" + v + "'");
        }
        if (!(x >= min && x <= max)) {
            throw new IllegalArgumentException("synthetic:" + corpus + ": parameter '" + key + "' must be in [" + min
                    + ", " + max + "], found " + x);
        }
        return x;
    }

    /** Fails on any key no getter asked for. */
    void requireAllKnown() {
        for (String k : values.keySet()) {
            if (!known.contains(k)) {
                throw new IllegalArgumentException("synthetic:" + corpus + ": unknown parameter '" + k
                        + "'; known parameters: " + new TreeSet<>(known));
            }
        }
    }
}
