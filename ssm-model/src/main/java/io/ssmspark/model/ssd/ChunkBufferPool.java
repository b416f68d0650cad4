package io.ssmspark.model.ssd;

import io.ssmspark.model.tensor.Scratch;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Per-thread reuse of block buffers across calls: a training step calls the SSD of every layer with
 * the same shapes, so each thread keeps the few most recently used blocks instead of allocating and
 * zeroing them per call. Blocks are scratch only; nothing a call returns aliases them.
 *
 * <p>A block outlives the call that made it, so its buffers are always allocated outside any ND4J workspace: a
 * caller may run the SSD inside a {@link Scratch} scope, and buffers allocated there would be freed with it.
 */
final class ChunkBufferPool {
    private static final int MAX_ENTRIES = 4;

    /** What a block's buffers depend on (not the batch size or sequence length). */
    private record Key(
            int heads, int headDim, int groups, int dState, DataType dtype, int chunk, int nb, boolean backward) {
        Key(SsdDims d, int chunk, int nb, boolean backward) {
            this(d.heads(), d.headDim(), d.groups(), d.dState(), d.dtype(), chunk, nb, backward);
        }
    }

    private static final ThreadLocal<Map<Key, Object>> CACHE =
            ThreadLocal.withInitial(() -> new LinkedHashMap<>(8, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Key, Object> eldest) {
                    return size() > MAX_ENTRIES;
                }
            });

    private ChunkBufferPool() {}

    /** A forward-only block (M shares L's buffer). */
    static ChunkBlock forward(SsdDims d, int chunk, int nb) {
        return (ChunkBlock) CACHE.get()
                .computeIfAbsent(
                        new Key(d, chunk, nb, false), k -> Scratch.outside(() -> new ChunkBlock(d, chunk, nb, false)));
    }

    /** A backward block with its own forward block (separate M buffer). */
    static ChunkBlockBackward backward(SsdDims d, int chunk, int nb) {
        return (ChunkBlockBackward) CACHE.get()
                .computeIfAbsent(
                        new Key(d, chunk, nb, true),
                        k -> Scratch.outside(() -> new ChunkBlockBackward(new ChunkBlock(d, chunk, nb, true))));
    }
}
