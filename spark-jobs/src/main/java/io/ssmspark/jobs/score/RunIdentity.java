package io.ssmspark.jobs.score;

import io.ssmspark.jobs.spark.ModelBlob;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * What makes two scoring runs the same run, so that one may resume the other's progress ({@link CommitLog}): the
 * model (its config and every parameter, as a CRC-32C, and its dtype), the segments (their sequences, offsets and
 * tokens), the tasks per wave and waves per commit (which fix the waves and the files), and what each position
 * holds. Each entry is named after the setting a user changes.
 */
final class RunIdentity {
    private RunIdentity() {}

    static Map<String, String> of(
            ModelBlob blob, SegmentLayout layout, int tasks, int commitEvery, int topK, boolean withEmbeddings) {
        Map<String, String> id = new LinkedHashMap<>();
        id.put("model (config and parameters, CRC-32C)", Long.toHexString(modelCrc(blob)));
        id.put("--dtype", blob.dataType().toString());
        id.put(
                "input (segments and tokens, CRC-32C; --input, --segment-length)",
                layout.segmentCount() + " segments, " + Long.toHexString(layout.contentDigest));
        id.put("--parallel-segments", Integer.toString(tasks));
        id.put("--commit-every", Integer.toString(commitEvery));
        id.put("--top-k", Integer.toString(topK));
        id.put("--with-embeddings", Boolean.toString(withEmbeddings));
        return id;
    }

    private static long modelCrc(ModelBlob blob) {
        CRC32C crc = new CRC32C();
        crc.update(blob.configJson.getBytes(StandardCharsets.UTF_8));
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        int perChunk = chunk.capacity() / (blob.floats != null ? 4 : 8);
        int n = blob.floats != null ? blob.floats.length : blob.doubles.length;
        for (int from = 0; from < n; from += perChunk) {
            int count = Math.min(perChunk, n - from);
            chunk.clear();
            if (blob.floats != null) {
                chunk.asFloatBuffer().put(blob.floats, from, count);
                chunk.limit(4 * count);
            } else {
                chunk.asDoubleBuffer().put(blob.doubles, from, count);
                chunk.limit(8 * count);
            }
            crc.update(chunk);
        }
        return crc.getValue();
    }
}
