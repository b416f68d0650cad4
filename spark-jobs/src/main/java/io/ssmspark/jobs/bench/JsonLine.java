package io.ssmspark.jobs.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds one JSON object, in insertion order, and prints it as a single line. */
public final class JsonLine {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final Map<String, Object> fields = new LinkedHashMap<>();

    public JsonLine put(String key, Object value) {
        fields.put(key, value instanceof Double v ? round(v) : value);
        return this;
    }

    public Map<String, Object> fields() {
        return fields;
    }

    @Override
    public String toString() {
        try {
            return MAPPER.writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write bench result as JSON", e);
        }
    }

    /** Four significant digits are plenty for timings and rates. */
    private static double round(double v) {
        if (v == 0 || Double.isNaN(v) || Double.isInfinite(v)) {
            return v;
        }
        return new java.math.BigDecimal(v).round(new java.math.MathContext(4)).doubleValue();
    }
}
