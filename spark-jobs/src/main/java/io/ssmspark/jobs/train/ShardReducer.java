package io.ssmspark.jobs.train;

import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.model.optim.SquareSum;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import scala.Tuple2;

/**
 * Reducer k of the sharded reduce: adds every task's slice of shard k into one double-double sum in (round,
 * partition) order, the order in which the driver fold adds the whole vectors, so each entry is the same double
 * as there; divides by the step's token count and rounds to the run's dtype ({@link CompensatedSum#mean}, as the
 * driver fold does with the whole gradient), and sums that shard's squares for the global norm.
 */
final class ShardReducer implements FlatMapFunction<Iterator<Tuple2<Integer, GradientSlice>>, ReducedShard> {
    private static final long serialVersionUID = 1L;
    private static final Comparator<GradientSlice> ORDER =
            Comparator.<GradientSlice>comparingInt(s -> s.round).thenComparingInt(s -> s.partition);
    private final ShardLayout layout;
    private final DataType dtype;
    private final long tokens;
    private final int step;
    private final FaultInjection fault;

    ShardReducer(ShardLayout layout, DataType dtype, long tokens, int step, FaultInjection fault) {
        this.layout = layout;
        this.dtype = dtype;
        this.tokens = tokens;
        this.step = step;
        this.fault = fault;
    }

    @Override
    public Iterator<ReducedShard> call(Iterator<Tuple2<Integer, GradientSlice>> records) {
        TaskSetup.beforeTask();
        long start = System.nanoTime();
        int shard = TaskContext.getPartitionId();
        if (fault != null) {
            fault.maybeFailReducer(step, shard);
        }
        List<GradientSlice> sums = new ArrayList<>();
        List<GradientSlice> summaries = new ArrayList<>();
        records.forEachRemaining(r -> {
            if (r._1 != shard) {
                throw new IllegalStateException("reducer of shard " + shard + " got a slice of shard " + r._1);
            }
            (r._2.sum != null ? sums : summaries).add(r._2);
        });
        sums.sort(ORDER);
        summaries.sort(ORDER);
        ReducedShard out = new ReducedShard();
        out.shard = shard;
        out.summaries = summaries;
        try (CompensatedSum sum = new CompensatedSum(layout.size(shard))) {
            for (int i = 0; i < sums.size(); i++) {
                out.bytesIn += sums.get(i).sum.byteSize();
                sum.add(sums.get(i).sum);
                sums.set(i, null); // each slice can go once added
            }
            try (INDArray mean = sum.mean(tokens, dtype)) {
                SquareSum squares = SquareSum.of(mean, "gradient shard " + shard);
                out.squaresHi = squares.hi();
                out.squaresLo = squares.lo();
                out.meanGradient = FlatValues.of(mean);
            }
        }
        out.reduceNanos = System.nanoTime() - start;
        return List.of(out).iterator();
    }
}
