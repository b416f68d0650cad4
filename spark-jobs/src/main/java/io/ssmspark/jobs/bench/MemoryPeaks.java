package io.ssmspark.jobs.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.bytedeco.javacpp.Pointer;

/**
 * The memory peaks of this process while it runs something: the JVM heap in use and committed, and the resident set
 * (sampled every 20 ms), and the heap still in use right after each garbage collection (from the collectors' notifications). Heap
 * in use counts garbage not yet collected, so it follows the collector's sizing as much as the program; after a
 * collection it is close to what the program holds.
 */
final class MemoryPeaks implements AutoCloseable {
    final AtomicLong heapInUse = new AtomicLong();
    final AtomicLong heapAfterGc = new AtomicLong();
    /** The heap the JVM has committed (part of the resident set whatever is in use). */
    final AtomicLong heapCommitted = new AtomicLong();

    final AtomicLong residentSet = new AtomicLong();
    private final Thread sampler;
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final NotificationListener onGc = this::gcDone;
    private final Set<String> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(p -> p.getType() == MemoryType.HEAP)
            .map(MemoryPoolMXBean::getName)
            .collect(Collectors.toSet());
    private volatile boolean running = true;

    /** Starts watching. */
    MemoryPeaks() {
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter e) {
                e.addNotificationListener(onGc, null, null);
                emitters.add(e);
            }
        }
        sampler = new Thread(
                () -> {
                    Runtime rt = Runtime.getRuntime();
                    while (running) {
                        heapInUse.accumulateAndGet(rt.totalMemory() - rt.freeMemory(), Math::max);
                        heapCommitted.accumulateAndGet(rt.totalMemory(), Math::max);
                        residentSet.accumulateAndGet(Pointer.physicalBytes(), Math::max);
                        try {
                            Thread.sleep(20);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                },
                "memory-peaks");
        sampler.setDaemon(true);
        sampler.start();
    }

    private void gcDone(Notification n, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
            return;
        }
        GarbageCollectionNotificationInfo info =
                GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
        long used = 0;
        for (Map.Entry<String, MemoryUsage> pool :
                info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
            if (heapPools.contains(pool.getKey())) {
                used += pool.getValue().getUsed();
            }
        }
        heapAfterGc.accumulateAndGet(used, Math::max);
    }

    /** Stops watching; the peaks keep their values. */
    @Override
    public void close() {
        running = false;
        sampler.interrupt();
        for (NotificationEmitter e : emitters) {
            try {
                e.removeNotificationListener(onGc);
            } catch (ListenerNotFoundException ignored) {
                // already gone
            }
        }
    }
}
