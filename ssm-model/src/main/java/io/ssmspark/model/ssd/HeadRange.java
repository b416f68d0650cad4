package io.ssmspark.model.ssd;

import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.tensor.Layouts;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Heads [first, first + count) of an SSD problem with H heads in G groups, covering either whole groups or part
 * of one group, so that the range's heads read one contiguous run of groups of B and C. Heads are independent
 * given B and C (DESIGN.md, "SSD": every term is per head), so ranges can run on different threads; each range
 * reads and writes its own heads of the full arrays through strided views, and no copy is made.
 */
record HeadRange(int first, int count, int firstGroup, int groups, int totalHeads, int totalGroups) {

    /** All heads of {@code d}. */
    static HeadRange whole(int heads, int groups) {
        return new HeadRange(0, heads, 0, groups, heads, groups);
    }

    /**
     * The heads of {@code d} cut for {@code threads} threads: list t is thread t's ranges. Whole groups per
     * thread when G divides into the threads; otherwise each group's heads are cut into {@code threads} runs
     * that differ by at most one head, and thread t takes run t of every group.
     */
    static List<List<HeadRange>> split(SsdDims d, int threads) {
        int H = d.heads(), G = d.groups(), Hg = d.headsPerGroup();
        int k = Math.max(1, Math.min(threads, H));
        List<List<HeadRange>> out = new ArrayList<>();
        if (G % k == 0) {
            int per = G / k;
            for (int t = 0; t < k; t++) {
                out.add(List.of(new HeadRange(t * per * Hg, per * Hg, t * per, per, H, G)));
            }
            return out;
        }
        for (int t = 0; t < k; t++) {
            List<HeadRange> mine = new ArrayList<>();
            int from = (int) ((long) t * Hg / k), to = (int) ((long) (t + 1) * Hg / k);
            for (int g = 0; g < G && to > from; g++) {
                mine.add(new HeadRange(g * Hg + from, to - from, g, 1, H, G));
            }
            if (!mine.isEmpty()) {
                out.add(mine);
            }
        }
        return out;
    }

    /** The range's problem sizes: its heads and groups, the rest as {@code d}. */
    SsdDims dims(SsdDims d) {
        return new SsdDims(d.batch(), d.seqLen(), count, d.headDim(), groups, d.dState(), d.dPerChannel(), d.dtype());
    }

    boolean isAll() {
        return count == totalHeads;
    }

    /**
     * The range's heads of dense padded (batch, Tp, H, f) from flat chunk {@code firstChunk} as [nb, Q, groups,
     * count/groups, f]: a dense view when the range is all heads, strided otherwise.
     */
    INDArray natural(INDArray padded, int firstChunk, int nb, int q, long f) {
        long perToken = (long) totalHeads * f;
        long hg = count / groups;
        return view(
                padded, (long) firstChunk * q * perToken + first * f, new long[] {nb, q, groups, hg, f}, new long[] {
                    q * perToken, perToken, hg * f, f, 1
                });
    }

    /** The range's groups of dense padded (batch, Tp, G, N) from flat chunk {@code firstChunk} as [nb, Q, groups, N]. */
    INDArray grouped(INDArray padded, int firstChunk, int nb, int q, long n) {
        long perToken = (long) totalGroups * n;
        return view(
                padded, (long) firstChunk * q * perToken + firstGroup * n, new long[] {nb, q, groups, n}, new long[] {
                    q * perToken, perToken, n, 1
                });
    }

    /** The range's heads of a per-head vector ([H], or [H·P] for per-channel D). */
    INDArray heads(INDArray perHead) {
        long per = perHead.length() / totalHeads;
        return isAll() ? perHead : perHead.get(interval(first * per, (first + count) * per));
    }

    /** The range's heads of sequence {@code seq}'s state in dense (batch, H, P, N): a dense [count, P, N] view. */
    INDArray stateOf(INDArray states, int seq) {
        long perHead = states.size(2) * states.size(3);
        return Layouts.view(states, ((long) seq * totalHeads + first) * perHead, count, states.size(2), states.size(3));
    }

    private static INDArray view(INDArray dense, long offset, long[] shape, long[] stride) {
        return Nd4j.create(dense.data(), shape, stride, dense.offset() + offset, 'c');
    }
}
