package io.ssmspark.model.checkpoint.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.model.config.MalformedConfigException;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;

/**
 * Typed access to the top-level fields of a transformers config.json. Every field read is marked known; {@link
 * #unknown()} names the first one that was not. Errors name the file and the field.
 */
final class HfFields {
    private final String source;
    private final ObjectNode node;
    private final Set<String> known = new HashSet<>();

    HfFields(String source, ObjectNode node) {
        this.source = source;
        this.node = node;
    }

    String source() {
        return source;
    }

    ObjectNode node() {
        return node;
    }

    /** The raw value, or null when absent; marks the field known. */
    JsonNode raw(String key) {
        known.add(key);
        return node.get(key);
    }

    boolean has(String key) {
        return node.has(key);
    }

    int integer(String key, int defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        return toInt(key, v);
    }

    /** An integer that may be written as a float with no fraction (2.0), as Python's json writes int(x) * 1.0. */
    int integral(String key, int defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (v.isFloatingPointNumber()
                && v.doubleValue() == Math.rint(v.doubleValue())
                && Math.abs(v.doubleValue()) <= Integer.MAX_VALUE) {
            return (int) v.doubleValue();
        }
        return toInt(key, v);
    }

    double number(String key, double defaultValue) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        return toDouble(key, v);
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

    /** A string; null when absent or JSON null. */
    String string(String key) throws MalformedConfigException {
        JsonNode v = raw(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw wrongType(key, "a string", v);
        }
        return v.textValue();
    }

    /** The first field that was never read, or null. */
    String unknown() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                return name;
            }
        }
        return null;
    }

    MalformedConfigException unsupported(String key, Object found, String why) {
        return new MalformedConfigException(source + ": field '" + key + "' = " + found + " is not supported; " + why);
    }

    MalformedConfigException invalid(String key, String message) {
        return new MalformedConfigException(source + ": field '" + key + "' " + message);
    }

    /**
     * A number, where infinity may also be written as transformers and Python's json write it: the bare
     * {@code Infinity} (4.x, json.dumps of float('inf')) or {@code {"__float__": "Infinity"}}.
     */
    double toDouble(String key, JsonNode v) throws MalformedConfigException {
        if (v.isNumber()) {
            return v.doubleValue();
        }
        if (v.isObject()
                && v.size() == 1
                && v.has("__float__")
                && v.get("__float__").isTextual()) {
            switch (v.get("__float__").textValue()) {
                case "Infinity", "inf" -> {
                    return Double.POSITIVE_INFINITY;
                }
                case "-Infinity", "-inf" -> {
                    return Double.NEGATIVE_INFINITY;
                }
                default -> {
                    // NaN or anything else is no bound on a time step
                }
            }
        }
        throw wrongType(key, "a number", v);
    }

    private int toInt(String key, JsonNode v) throws MalformedConfigException {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw wrongType(key, "an integer", v);
        }
        return v.intValue();
    }

    MalformedConfigException wrongType(String key, String expected, JsonNode found) {
        String text = found.toString();
        if (text.length() > 60) {
            text = text.substring(0, 57) + "...";
        }
        return new MalformedConfigException(source + ": field '" + key + "' must be " + expected + ", found " + text);
    }
}
