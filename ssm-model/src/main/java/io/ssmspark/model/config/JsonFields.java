package io.ssmspark.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Typed, strict access to the fields of one JSON object in config.json. Every field read is marked as
 * known; {@link #rejectUnknown()} then refuses whatever was not read. Errors name the file and the
 * dotted field path ({@code ssm_cfg.d_state}).
 */
final class JsonFields {
    private final String source;
    private final String prefix;
    private final ObjectNode node;
    private final Set<String> known = new HashSet<>();

    JsonFields(String source, String prefix, ObjectNode node) {
        this.source = source;
        this.prefix = prefix;
        this.node = node;
    }

    String path(String key) {
        return prefix + key;
    }

    /** The raw node, or null when absent; marks the key known. */
    JsonNode raw(String key) {
        known.add(key);
        return node.get(key);
    }

    int integer(String key, int defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        return toInt(key, v);
    }

    Integer nullableInteger(String key) throws MalformedConfigException {
        JsonNode v = raw(key);
        return v == null || v.isNull() ? null : toInt(key, v);
    }

    double number(String key, double defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        return toDouble(key, v);
    }

    Double nullableNumber(String key) throws MalformedConfigException {
        JsonNode v = raw(key);
        return v == null || v.isNull() ? null : toDouble(key, v);
    }

    boolean bool(String key, boolean defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isBoolean()) {
            throw wrongType(key, "true or false", v);
        }
        return v.booleanValue();
    }

    String string(String key, String defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isTextual()) {
            throw wrongType(key, "a string", v);
        }
        return v.textValue();
    }

    /** A nested object; absent or null reads as the empty object (mamba_ssm treats None as {}). */
    JsonFields object(String key) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null || v.isNull()) {
            return new JsonFields(source, path(key) + ".", new ObjectNode(null));
        }
        if (!v.isObject()) {
            throw wrongType(key, "a JSON object", v);
        }
        return new JsonFields(source, path(key) + ".", (ObjectNode) v);
    }

    List<Integer> integerList(String key, List<Integer> defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isArray()) {
            throw wrongType(key, "an array of integers", v);
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw wrongType(key + "[" + i + "]", "an integer", e);
            }
            out.add(e.intValue());
        }
        return out;
    }

    /** A JSON array of exactly {@code n} numbers (JSON's Infinity accepted). */
    double[] numberArray(String key, int n, double[] defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isArray() || v.size() != n) {
            throw wrongType(key, "an array of " + n + " numbers", v);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = toDouble(key + "[" + i + "]", v.get(i));
        }
        return out;
    }

    void rejectUnknown() throws MalformedConfigException {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw new MalformedConfigException(source + ": unknown field '" + path(name) + "'");
            }
        }
    }

    MalformedConfigException unsupported(String key, Object found, String supported) {
        return new MalformedConfigException(
                source + ": field '" + path(key) + "' = " + found + " is not supported; " + supported);
    }

    MalformedConfigException invalid(String key, String message) {
        return new MalformedConfigException(source + ": field '" + path(key) + "' " + message);
    }

    private int toInt(String key, JsonNode v) throws MalformedConfigException {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw wrongType(key, "an integer", v);
        }
        return v.intValue();
    }

    private double toDouble(String key, JsonNode v) throws MalformedConfigException {
        if (!v.isNumber()) {
            throw wrongType(key, "a number", v);
        }
        return v.doubleValue();
    }

    private MalformedConfigException wrongType(String key, String expected, JsonNode found) {
        String text = found.toString();
        if (text.length() > 60) {
            text = text.substring(0, 57) + "...";
        }
        return new MalformedConfigException(
                source + ": field '" + path(key) + "' must be " + expected + ", found " + text);
    }
}
