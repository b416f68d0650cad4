package io.ssmspark.data;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;

/**
 * Run in its own JVM (small -Xmx) by {@link LargeTokenFileTest}: writes a 100 MiB tokens-u16 file,
 * reads it through Spark, checks every window and segment against the generating formula on the
 * executors (nothing is collected but counts), and prints one JSON line with the counts and the
 * largest heap in use after a garbage collection.
 */
public final class LargeTokenFileCheck {
    static final long TOKENS = 50L << 20; // 100 MiB of uint16
    static final int SEQ_LEN = 4095;
    static final int SEGMENT_LENGTH = 1_000_003;

    private LargeTokenFileCheck() {}

    /** The token at position i of the file. */
    static int tokenAt(long i) {
        return (int) ((i * 31 + (i >>> 16)) & 0xFFFF);
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        Path file = dir.resolve("large.u16");
        write(file);
        LiveHeapTracker live = LiveHeapTracker.start();
        long started = System.nanoTime();
        SparkSession spark = SparkSession.builder()
                .master("local[2]")
                .appName("large-token-file")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .config("spark.local.dir", dir.resolve("spark").toString())
                .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                // Spark refuses heaps under 1.5 x its 300 MiB reserve; lower the reserve to run in 256 MiB.
                .config("spark.testing.reservedMemory", String.valueOf(32L << 20))
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            SourceData data = Sources.read(
                    spark,
                    file.toString(),
                    ReadOptions.defaults()
                            .withFormat(InputFormat.TOKENS_U16)
                            .withVocabSize(65536)
                            .withPartitions(4));
            TrainingWindows tw = TrainingWindows.build(
                    data, WindowOptions.of(SEQ_LEN).withPartitions(4).withSeed(1));
            int stride = SEQ_LEN;
            JavaRDD<Long> windowErrors = tw.train().map(w -> {
                long bad = 0;
                long start = w.index * stride;
                for (int j = 0; j < w.tokens.length; j++) {
                    bad += w.tokens[j] == tokenAt(start + j) ? 0 : 1;
                }
                return w.tokens.length == SEQ_LEN + 1 ? bad : bad + 1_000_000;
            });
            long[] windowCheck =
                    windowErrors.map(b -> new long[] {1, b}).reduce((a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
            Segments segs = Segments.cut(data, SEGMENT_LENGTH, 4);
            long[] segmentCheck = segs.segments()
                    .map(s -> {
                        long bad = 0;
                        for (int j = 0; j < s.tokens.length; j++) {
                            bad += s.tokens[j] == tokenAt(s.startOffset + j) ? 0 : 1;
                        }
                        long expectedLength = Math.min(SEGMENT_LENGTH, TOKENS - s.startOffset);
                        bad += s.tokens.length == expectedLength
                                        && s.startOffset == (long) s.segmentIndex * SEGMENT_LENGTH
                                ? 0
                                : 1;
                        return new long[] {1, bad, s.tokens.length};
                    })
                    .reduce((a, b) -> new long[] {a[0] + b[0], a[1] + b[1], a[2] + b[2]});
            double seconds = (System.nanoTime() - started) / 1e9;
            System.out.println(String.format(
                    Locale.ROOT,
                    "RESULT {\"file_bytes\": %d, \"tokens\": %d, \"windows\": %d, \"expected_windows\": %d, "
                            + "\"window_token_errors\": %d, \"segments\": %d, \"expected_segments\": %d, "
                            + "\"segment_errors\": %d, \"segment_tokens\": %d, "
                            + "\"peak_live_heap_after_gc_mib\": %.1f, \"gcs\": %d, \"max_heap_mib\": %.1f, "
                            + "\"seconds\": %.1f}",
                    Files.size(file),
                    data.report().tokens(),
                    windowCheck[0],
                    tw.trainCounts().windows,
                    windowCheck[1],
                    segmentCheck[0],
                    segs.segmentCount(),
                    segmentCheck[1],
                    segmentCheck[2],
                    live.peakMiB(),
                    live.collections(),
                    Runtime.getRuntime().maxMemory() / 1048576.0,
                    seconds));
        } finally {
            spark.stop();
        }
    }

    static void write(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(
                file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long i = 0; i < TOKENS; i++) {
                buf.putShort((short) tokenAt(i));
                if (!buf.hasRemaining()) {
                    buf.flip();
                    ch.write(buf);
                    buf.clear();
                }
            }
            buf.flip();
            ch.write(buf);
        }
    }

    /**
     * Largest heap in use right after a garbage collection (sum over heap pools), from the JVM's GC
     * notifications: the peak live data, which, unlike the peak occupancy, does not just follow the
     * heap cap.
     */
    static final class LiveHeapTracker implements javax.management.NotificationListener {
        private final java.util.Set<String> heapPools = new java.util.HashSet<>();
        private volatile long peak;
        private volatile long collections;

        static LiveHeapTracker start() {
            LiveHeapTracker t = new LiveHeapTracker();
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    t.heapPools.add(pool.getName());
                }
            }
            for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((javax.management.NotificationEmitter) gc).addNotificationListener(t, null, null);
            }
            return t;
        }

        @Override
        public synchronized void handleNotification(javax.management.Notification n, Object handback) {
            if (!n.getType()
                    .equals(com.sun.management.GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
                return;
            }
            com.sun.management.GarbageCollectionNotificationInfo info =
                    com.sun.management.GarbageCollectionNotificationInfo.from(
                            (javax.management.openmbean.CompositeData) n.getUserData());
            long used = 0;
            for (java.util.Map.Entry<String, java.lang.management.MemoryUsage> e :
                    info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                if (heapPools.contains(e.getKey())) {
                    used += e.getValue().getUsed();
                }
            }
            peak = Math.max(peak, used);
            collections++;
        }

        double peakMiB() {
            return peak / 1048576.0;
        }

        long collections() {
            return collections;
        }
    }
}
