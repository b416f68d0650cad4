package io.ssmspark.model.scan;

import io.ssmspark.model.tensor.Layouts;
import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The inter-chunk recurrence of the chunked scan, h ← α_m⊙h + e_m over M chunks with states of S entries, giving
 * the state entering each chunk. It has the scan's own form, so it is solved the same way: the M steps are cut into
 * about √M groups of √M, each group's own effect (Π α, and its final state from zero) is computed for all groups at
 * once position by position, the groups' recurrence is solved the same way (recursively), and each group is run
 * again from its true entering state. That takes O(√M) batched ops instead of M, which matters when states are
 * small and ND4J's per-call cost dominates (a million tokens of a narrow layer are 31,250 chunks).
 */
final class ChunkRecurrence {
    /** At most this many steps run one by one. */
    static final int SEQUENTIAL_STEPS = 32;

    private ChunkRecurrence() {}

    /**
     * For m in order (from the last when {@code reverse}): starts[m] = h, then h ← α[m]⊙h + e[m] (e null: no input).
     * α, e and starts are dense [M, S]; h is a dense array of S entries and advances in place.
     */
    static void run(INDArray alpha, INDArray e, INDArray starts, INDArray h, boolean reverse) {
        long m = alpha.size(0), s = alpha.size(1);
        INDArray flat = Layouts.reshapeView(h, s);
        if (m <= SEQUENTIAL_STEPS) {
            for (long i = 0; i < m; i++) {
                long r = reverse ? m - 1 - i : i;
                Layouts.view(starts, r * s, s).assign(flat);
                Ops.mul(flat, Layouts.view(alpha, r * s, s), flat);
                if (e != null) {
                    flat.addi(Layouts.view(e, r * s, s));
                }
            }
            return;
        }
        int k = (int) Math.ceil(Math.sqrt(m)); // steps per group
        int groups = (int) ((m + k - 1) / k);
        // position-major copies [k, groups, s], padded at the end with identity steps (α = 1, e = 0)
        INDArray a = positionMajor(alpha, k, groups, 1.0);
        INDArray in = e == null ? null : positionMajor(e, k, groups, 0.0);
        INDArray local = Nd4j.zeros(alpha.dataType(), groups, s);
        INDArray product = Nd4j.ones(alpha.dataType(), groups, s);
        for (int i = 0; i < k; i++) {
            int j = reverse ? k - 1 - i : i;
            INDArray aj = Layouts.view(a, (long) j * groups * s, groups, s);
            Ops.mul(local, aj, local);
            if (in != null) {
                local.addi(Layouts.view(in, (long) j * groups * s, groups, s));
            }
            Ops.mul(product, aj, product);
        }
        INDArray groupStarts = Nd4j.createUninitialized(alpha.dataType(), groups, s);
        run(product, in == null ? null : local, groupStarts, h, reverse);
        INDArray out = Nd4j.createUninitialized(alpha.dataType(), k, groups, s);
        INDArray current = groupStarts;
        for (int i = 0; i < k; i++) {
            int j = reverse ? k - 1 - i : i;
            INDArray aj = Layouts.view(a, (long) j * groups * s, groups, s);
            Layouts.view(out, (long) j * groups * s, groups, s).assign(current);
            Ops.mul(current, aj, current);
            if (in != null) {
                current.addi(Layouts.view(in, (long) j * groups * s, groups, s));
            }
        }
        INDArray natural = Nd4j.createUninitialized(alpha.dataType(), groups, k, s);
        Layouts.assignPermuted(natural, out, 1, 0, 2);
        Layouts.reshapeView(starts, m, s).assign(Layouts.view(natural, 0, m, s));
    }

    /** x [M, S] as [k, groups, S] with row g·k + j at [j, g], rows past M filled with {@code pad}. */
    private static INDArray positionMajor(INDArray x, int k, int groups, double pad) {
        long m = x.size(0), s = x.size(1);
        INDArray padded = Nd4j.valueArrayOf(new long[] {(long) groups * k, s}, pad, x.dataType());
        Layouts.view(padded, 0, m, s).assign(x);
        INDArray out = Nd4j.createUninitialized(x.dataType(), k, groups, s);
        Layouts.assignPermuted(out, Layouts.reshapeView(padded, groups, k, s), 1, 0, 2);
        return out;
    }
}
