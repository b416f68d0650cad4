package io.ssmspark.jobs.train;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.ModelBlob;
import io.ssmspark.jobs.spark.SparkCleanup;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.optim.Optimizer;
import io.ssmspark.model.optim.StepReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The parameters and AdamW on the driver: each step broadcasts the parameters, every task returns its packed
 * gradient sum, and the driver adds them in (round, partition) order into one double-double sum
 * ({@link DistributedPass}), divides by the token count and steps the optimizer. The driver receives 12 bytes
 * per parameter from every task; the path of small models, and of sequence-parallel training.
 */
final class DriverState implements TrainingState {
    private final JavaSparkContext sc;
    private final String configJson;
    private final INDArray parameters;
    private final Optimizer optimizer;
    private final DataType dtype;
    private final TrainConfig config;
    private final FaultInjection fault;
    private INDArray waiting;

    DriverState(
            JavaSparkContext sc,
            String configJson,
            INDArray parameters,
            Optimizer optimizer,
            TrainConfig config,
            FaultInjection fault) {
        this.sc = sc;
        this.configJson = configJson;
        this.parameters = parameters;
        this.optimizer = optimizer;
        this.dtype = config.dataType();
        this.config = config;
        this.fault = fault;
    }

    @Override
    public StepPasses gradients(
            JavaRDD<Window> windows, long[] firstRanks, int windowsPerRound, long tokens, int step) {
        long start = System.nanoTime();
        ModelBlob flat = ModelBlob.of(configJson, parameters);
        Broadcast<ModelBlob> broadcast = sc.broadcast(flat);
        long broadcastNanos = System.nanoTime() - start;
        List<DistributedPass.Outcome> rounds = new ArrayList<>();
        SequenceParallelPass.Exchange exchange = null;
        long received = 0;
        try (CompensatedSum gradient = new CompensatedSum(parameters.length())) {
            try {
                for (long first : firstRanks) {
                    Pass p = pass(windows, broadcast, first, first + windowsPerRound, gradient, step, fault);
                    rounds.add(p.outcome);
                    received += p.outcome.resultBytes();
                    if (p.exchange != null) {
                        exchange = exchange == null ? p.exchange : exchange.plus(p.exchange);
                    }
                }
            } finally {
                SparkCleanup.destroy(broadcast);
            }
            waiting = gradient.mean(tokens, dtype); // ∇ of the mean NLL over the batch
        }
        return new StepPasses(rounds, broadcastNanos, flat.byteSize(), received, exchange, null);
    }

    @Override
    public StepReport update() {
        try (INDArray gradient = waiting) {
            waiting = null;
            return optimizer.step(parameters, gradient);
        }
    }

    @Override
    public void discard() {
        if (waiting != null) {
            waiting.close();
            waiting = null;
        }
    }

    @Override
    public DistributedPass.Outcome evaluate(JavaRDD<Window> validation, long windows, int step) {
        Broadcast<ModelBlob> broadcast = sc.broadcast(ModelBlob.of(configJson, parameters));
        try {
            return pass(validation, broadcast, 0, windows, null, step, null).outcome;
        } finally {
            SparkCleanup.destroy(broadcast);
        }
    }

    @Override
    public void save(
            RunFiles files, String target, MambaConfig model, long step, TrainConfig run, long epoch, byte[] tokenizer)
            throws IOException {
        new TrainingCheckpoint(model, parameters, optimizer.adamw().state(), step, run)
                .save(files, target, epoch, tokenizer);
    }

    @Override
    public INDArray parameters() {
        return parameters.dup();
    }

    @Override
    public long parameterCount() {
        return parameters.length();
    }

    @Override
    public String describe() {
        return "gradients folded on the driver (--reduce driver)";
    }

    @Override
    public void close() {
        discard();
    }

    private record Pass(DistributedPass.Outcome outcome, SequenceParallelPass.Exchange exchange) {}

    /**
     * One pass over the windows ranked [first, end): whole windows, one task each ({@link DistributedPass}), or
     * cut across --sequence-parallel tasks ({@link SequenceParallelPass}) with their exchange's cost.
     */
    private Pass pass(
            JavaRDD<Window> windows,
            Broadcast<ModelBlob> broadcast,
            long first,
            long end,
            CompensatedSum gradient,
            int step,
            FaultInjection fault) {
        if (config.sequenceParallel == 1) {
            return new Pass(
                    DistributedPass.run(windows, broadcast, first, end, gradient, step, config.microBatch, fault),
                    null);
        }
        SequenceParallelPass.Result r = SequenceParallelPass.run(
                sc,
                windows,
                broadcast,
                first,
                end,
                gradient,
                step,
                config.partitions,
                config.sequenceParallel,
                config.seqLen,
                fault);
        return new Pass(r.outcome(), r.exchange());
    }
}
