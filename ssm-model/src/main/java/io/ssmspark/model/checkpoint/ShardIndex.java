package io.ssmspark.model.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A transformers shard index ({@code model.safetensors.index.json} or {@code pytorch_model.bin.index.json}):
 * {@code {"metadata": {...}, "weight_map": {tensor name: shard file name}}}, every shard a plain file name in the
 * index's directory. Reading it checks that every shard exists.
 */
final class ShardIndex {
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path file;
    private final Map<String, String> weightMap;
    private final List<Path> shards;

    private ShardIndex(Path file, Map<String, String> weightMap, List<Path> shards) {
        this.file = file;
        this.weightMap = Collections.unmodifiableMap(weightMap);
        this.shards = Collections.unmodifiableList(shards);
    }

    static ShardIndex read(Path file) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new SafeTensorsFormatException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafeTensorsFormatException(file + ": expected a JSON object with \"weight_map\"");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.equals("metadata") && !key.equals("weight_map")) {
                throw new SafeTensorsFormatException(
                        file + ": unknown field '" + key + "' (a shard index has \"metadata\" and \"weight_map\")");
            }
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new SafeTensorsFormatException(
                    file + ": field 'weight_map' must be a non-empty object of tensor" + " names to shard file names");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        Map<String, List<String>> byShard = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafeTensorsFormatException(
                        file + ": weight_map entry '" + e.getKey() + "' must name a shard file, found " + e.getValue());
            }
            String shard = e.getValue().textValue();
            if (shard.isEmpty()
                    || shard.contains("/")
                    || shard.contains("\\")
                    || shard.equals(".")
                    || shard.equals("..")) {
                throw new SafeTensorsFormatException(file + ": weight_map entry '" + e.getKey() + "' names shard '"
                        + shard + "'; shards are plain file names in the index's directory");
            }
            weightMap.put(e.getKey(), shard);
            byShard.computeIfAbsent(shard, k -> new ArrayList<>()).add(e.getKey());
        }
        Path dir = file.getParent();
        List<Path> shards = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
            Path shard = dir.resolve(e.getKey());
            if (!Files.isRegularFile(shard)) {
                List<String> names = e.getValue();
                throw new SafeTensorsFormatException(file + ": shard '" + e.getKey() + "' (named for " + names.size()
                        + (names.size() == 1 ? " tensor, '" : " tensors, e.g. '") + names.get(0) + "') is missing from "
                        + dir);
            }
            shards.add(shard);
        }
        return new ShardIndex(file, weightMap, shards);
    }

    Path file() {
        return file;
    }

    /** Tensor name to shard file name, in the index's order. */
    Map<String, String> weightMap() {
        return weightMap;
    }

    /** The shard files, sorted by name (model-00001-of-0000N first). */
    List<Path> shards() {
        return shards;
    }
}
