package io.ssmspark.model.ssd;

import static io.ssmspark.model.ssd.SsdTestData.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.tensor.KernelThreads;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The SSD forward with its heads spread over threads ({@link HeadRange}, {@link KernelThreads}). */
class SsdHeadSplitTest {

    @Test
    void everyHeadLandsInExactlyOneRangeThatReadsOneRunOfGroups() {
        for (int[] hg : new int[][] {{16, 1}, {4, 2}, {6, 3}, {8, 8}, {3, 1}, {12, 4}}) {
            int H = hg[0], G = hg[1];
            SsdDims d = new SsdDims(1, 10, H, 2, G, 3, false, DataType.FLOAT);
            for (int threads = 1; threads <= 7; threads++) {
                List<List<HeadRange>> split = HeadRange.split(d, threads);
                String at = "H=" + H + " G=" + G + " threads=" + threads;
                assertTrue(split.size() >= 1 && split.size() <= Math.min(threads, H), at + ": " + split.size());
                int[] seen = new int[H];
                for (List<HeadRange> mine : split) {
                    for (HeadRange r : mine) {
                        int hgPer = H / G;
                        assertTrue(r.count() > 0 && r.count() % r.groups() == 0, at + " " + r);
                        assertEquals(r.first() / hgPer, r.firstGroup(), at + " " + r);
                        assertEquals(
                                (r.first() + r.count() - 1) / hgPer, r.firstGroup() + r.groups() - 1, at + " " + r);
                        assertTrue(r.groups() == 1 || r.count() == r.groups() * hgPer, at + " whole groups " + r);
                        for (int h = r.first(); h < r.first() + r.count(); h++) {
                            seen[h]++;
                        }
                    }
                }
                for (int h = 0; h < H; h++) {
                    assertEquals(1, seen[h], at + ": head " + h);
                }
            }
        }
    }

    @ParameterizedTest(name = "H={0} G={1} D per channel={2}")
    @CsvSource({"4, 1, false", "4, 2, true", "6, 3, false", "5, 1, true"})
    void spreadHeadsGiveTheOneThreadResult(int H, int G, boolean perChannel) {
        SsdInputs in = SsdTestData.inputs(31L * H + G, 2, 203, H, 3, G, 5, perChannel, DataType.DOUBLE);
        INDArray s0 = SsdTestData.state(9, in.dims());
        SsdResult reference = SsdReference.recurrence(in, s0);
        SsdInputs in32 = SsdTestData.cast(in, DataType.FLOAT);
        INDArray s32 = s0.castTo(DataType.FLOAT);
        for (int maxChunks : new int[] {2, Integer.MAX_VALUE}) {
            SsdResult one = ChunkedSsd.forward(in, 16, s0, maxChunks, 1);
            SsdResult one32 = ChunkedSsd.forward(in32, 16, s32, maxChunks, 1);
            for (int threads : new int[] {2, 3, 5}) {
                String at = " (threads " + threads + ", chunks per block " + maxChunks + ")";
                SsdResult spread = ChunkedSsd.forward(in, 16, s0, maxChunks, threads);
                assertTrue(relErr(spread.y(), one.y()) < 1e-14, "fp64 y" + at + ": " + relErr(spread.y(), one.y()));
                assertTrue(relErr(spread.finalState(), one.finalState()) < 1e-14, "fp64 final state" + at);
                assertTrue(relErr(spread.y(), reference.y()) < 1e-10, "fp64 y vs the recurrence" + at);
                assertTrue(
                        relErr(spread.finalState(), reference.finalState()) < 1e-10, "fp64 state vs recurrence" + at);
                SsdResult spread32 = ChunkedSsd.forward(in32, 16, s32, maxChunks, threads);
                assertTrue(
                        relErr(spread32.y(), one32.y()) < 1e-6, "fp32 y" + at + ": " + relErr(spread32.y(), one32.y()));
                assertTrue(relErr(spread32.finalState(), one32.finalState()) < 1e-6, "fp32 final state" + at);
            }
        }
    }

    @Test
    void theJvmWideSettingIsWhatForwardUses() {
        SsdInputs in = SsdTestData.inputs(3, 1, 100, 4, 3, 1, 5, false, DataType.DOUBLE);
        int before = KernelThreads.threads();
        try {
            KernelThreads.set(2);
            SsdResult viaSetting = ChunkedSsd.forward(in, 16, null);
            SsdResult explicit = ChunkedSsd.forward(in, 16, null, Integer.MAX_VALUE, 2);
            assertEquals(explicit.y(), viaSetting.y());
        } finally {
            KernelThreads.set(before);
        }
    }
}
