package io.ssmspark.jobs.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The run's metrics as JSON lines, one object per record: {"type":"train","step":...} per step and
 * {"type":"validation","step":...} per evaluation. Kept in memory and rewritten atomically to OUT/metrics.jsonl
 * by {@link #flush} (at evaluations, checkpoints, the end, and at most every few seconds in between).
 */
final class MetricsLog {
    static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long FLUSH_INTERVAL_NANOS = 5_000_000_000L;
    private final List<ObjectNode> records = new ArrayList<>();
    private final RunFiles files;
    private final String target;
    private long lastFlush = System.nanoTime();

    MetricsLog(RunFiles files, String outDir) {
        this.files = files;
        this.target = RunFiles.child(outDir, FILE);
    }

    /** Keeps the records of an earlier run in the same OUT up to (and including) {@code step}, when resuming. */
    void keepEarlierRecords(long step) throws IOException {
        if (!files.exists(target)) {
            return;
        }
        for (String line : files.readString(target).split("\n")) {
            if (!line.isBlank()) {
                JsonNode node = JSON.readTree(line);
                if (node.isObject() && node.path("step").asLong(Long.MAX_VALUE) <= step) {
                    records.add((ObjectNode) node);
                }
            }
        }
    }

    ObjectNode newRecord(String type, long step) {
        ObjectNode r = JSON.createObjectNode();
        r.put("type", type);
        r.put("step", step);
        return r;
    }

    void add(ObjectNode record) throws IOException {
        records.add(record);
        if (System.nanoTime() - lastFlush > FLUSH_INTERVAL_NANOS) {
            flush();
        }
    }

    List<ObjectNode> records() {
        return records;
    }

    /** (step, value of {@code field}) of every record of {@code type}. */
    double[][] series(String type, String field) {
        List<double[]> points = new ArrayList<>();
        for (ObjectNode r : records) {
            if (type.equals(r.path("type").asText())
                    && r.has(field)
                    && Double.isFinite(r.get(field).asDouble())) {
                points.add(new double[] {r.get("step").asDouble(), r.get(field).asDouble()});
            }
        }
        double[][] xy = new double[2][points.size()];
        for (int i = 0; i < points.size(); i++) {
            xy[0][i] = points.get(i)[0];
            xy[1][i] = points.get(i)[1];
        }
        return xy;
    }

    void flush() throws IOException {
        StringBuilder text = new StringBuilder();
        for (ObjectNode r : records) {
            text.append(JSON.writeValueAsString(r)).append('\n');
        }
        files.writeAtomically(target, text.toString().getBytes(StandardCharsets.UTF_8));
        lastFlush = System.nanoTime();
    }
}
