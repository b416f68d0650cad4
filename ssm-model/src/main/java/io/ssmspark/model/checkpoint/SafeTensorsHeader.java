package io.ssmspark.model.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The parsed and fully validated JSON header of a safetensors file. A header is accepted only when
 * every entry has exactly dtype, shape and data_offsets of the right types, its byte range matches its
 * shape, and the ranges tile the data buffer exactly (no overlap, no hole, nothing past the end).
 */
final class SafeTensorsHeader {
    static final String METADATA_KEY = "__metadata__";
    private static final Set<String> ENTRY_KEYS = Set.of("dtype", "shape", "data_offsets");
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Map<String, SafeTensorEntry> entries;
    private final Map<String, String> metadata;

    private SafeTensorsHeader(Map<String, SafeTensorEntry> entries, Map<String, String> metadata) {
        this.entries = Collections.unmodifiableMap(entries);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Entries by name, in name order. */
    Map<String, SafeTensorEntry> entries() {
        return entries;
    }

    Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Parses header bytes. {@code file} names the file in errors; {@code bufferLength} is the number of
     * data bytes after the header.
     */
    static SafeTensorsHeader parse(String file, ByteBuffer headerBytes, long bufferLength)
            throws SafeTensorsFormatException {
        String json;
        try {
            json = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(headerBytes.duplicate())
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsFormatException(
                    file + ": the header (bytes 8 to " + (8 + headerBytes.remaining()) + ") is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null
                    ? ""
                    : " at header character " + e.getLocation().getCharOffset();
            throw new SafeTensorsFormatException(
                    file + ": the header is not valid JSON" + where + ": " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafeTensorsFormatException(file + ": the header must be a JSON object, found "
                    + (root == null || root.isMissingNode()
                            ? "nothing"
                            : root.getNodeType().toString().toLowerCase()));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, SafeTensorEntry> entries = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, field.getValue());
            } else {
                entries.put(field.getKey(), parseEntry(file, field.getKey(), field.getValue(), bufferLength));
            }
        }
        checkTiling(file, entries, bufferLength);
        return new SafeTensorsHeader(entries, metadata);
    }

    private static Map<String, String> parseMetadata(String file, JsonNode node) throws SafeTensorsFormatException {
        if (!node.isObject()) {
            throw new SafeTensorsFormatException(file + ": \"__metadata__\" must be an object of strings, found "
                    + node.getNodeType().toString().toLowerCase());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafeTensorsFormatException(
                        file + ": \"__metadata__\" value '" + e.getKey() + "' must be a string, found " + e.getValue());
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    private static SafeTensorEntry parseEntry(String file, String name, JsonNode node, long bufferLength)
            throws SafeTensorsFormatException {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new SafeTensorsFormatException(where + ": entry must be an object, found " + node);
        }
        for (Iterator<String> keys = node.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!ENTRY_KEYS.contains(key)) {
                throw new SafeTensorsFormatException(
                        where + ": unknown key '" + key + "' (expected exactly dtype, shape, data_offsets)");
            }
        }
        for (String key : ENTRY_KEYS) {
            if (!node.has(key)) {
                throw new SafeTensorsFormatException(where + ": missing key '" + key + "'");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (!dtypeNode.isTextual()) {
            throw new SafeTensorsFormatException(where + ": dtype must be a string, found " + dtypeNode);
        }
        SafeTensorsDType dtype = SafeTensorsDType.byName(dtypeNode.textValue());
        if (dtype == null) {
            throw new SafeTensorsFormatException(
                    where + ": unsupported dtype '" + dtypeNode.textValue() + "' (readable: F64, F32, F16, BF16)");
        }
        long[] shape = nonNegativeLongs(where, "shape", node.get("shape"), -1);
        long[] offsets = nonNegativeLongs(where, "data_offsets", node.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new SafeTensorsFormatException(where + ": data_offsets [" + begin + ", " + end + "] begin after end");
        }
        if (end > bufferLength) {
            throw new SafeTensorsFormatException(where + ": data_offsets end " + end
                    + " is past the end of the data buffer (" + bufferLength + " bytes)");
        }
        long expectedBytes;
        try {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            expectedBytes = Math.multiplyExact(n, dtype.itemSize());
        } catch (ArithmeticException e) {
            throw new SafeTensorsFormatException(where + ": shape " + Arrays.toString(shape) + " is too large");
        }
        if (end - begin != expectedBytes) {
            throw new SafeTensorsFormatException(where + ": data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin) + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + expectedBytes);
        }
        return new SafeTensorEntry(name, dtype, shape, begin, end);
    }

    private static long[] nonNegativeLongs(String where, String key, JsonNode node, int requiredLength)
            throws SafeTensorsFormatException {
        String expected = requiredLength < 0
                ? "an array of non-negative integers"
                : "an array of " + requiredLength + " non-negative integers";
        if (!node.isArray() || (requiredLength >= 0 && node.size() != requiredLength)) {
            throw new SafeTensorsFormatException(where + ": " + key + " must be " + expected + ", found " + node);
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new SafeTensorsFormatException(where + ": " + key + " must be " + expected + ", found " + node);
            }
            out[i] = v.longValue();
        }
        return out;
    }

    /** The byte ranges, sorted, must follow one another from 0 to the end of the buffer. */
    private static void checkTiling(String file, Map<String, SafeTensorEntry> entries, long bufferLength)
            throws SafeTensorsFormatException {
        List<SafeTensorEntry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(SafeTensorEntry::begin).thenComparingLong(SafeTensorEntry::end));
        long position = 0;
        SafeTensorEntry previous = null;
        for (SafeTensorEntry e : sorted) {
            if (e.begin() < position) {
                throw new SafeTensorsFormatException(file + ": tensor '" + e.name() + "' bytes [" + e.begin() + ", "
                        + e.end() + ") overlap tensor '" + previous.name() + "' bytes [" + previous.begin() + ", "
                        + previous.end() + ")");
            }
            if (e.begin() > position) {
                throw new SafeTensorsFormatException(file + ": data buffer bytes [" + position + ", " + e.begin()
                        + ") belong to no tensor (hole before tensor '" + e.name() + "')");
            }
            position = e.end();
            previous = e;
        }
        if (position != bufferLength) {
            throw new SafeTensorsFormatException(file + ": data buffer bytes [" + position + ", " + bufferLength
                    + ") belong to no tensor (trailing bytes after the last tensor)");
        }
    }
}
