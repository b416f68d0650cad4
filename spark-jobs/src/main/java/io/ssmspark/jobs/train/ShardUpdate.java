package io.ssmspark.jobs.train;

import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.optim.AdamW;
import io.ssmspark.model.optim.AdamWSettings;
import io.ssmspark.model.optim.AdamWState;
import io.ssmspark.model.optim.WeightDecayMask;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The update of one shard (ZeRO-1): the shard's mean gradient times the global clip scale, then AdamW over the
 * shard's parameters and moments with the step's learning rate. AdamW's update of an entry depends only on that
 * entry's inputs ({@link AdamW}), so the shards together hold exactly what one optimizer over the whole vector
 * would.
 */
final class ShardUpdate implements FlatMapFunction2<Iterator<OptimizerShard>, Iterator<ReducedShard>, OptimizerShard> {
    private static final long serialVersionUID = 1L;
    private final String configJson;
    private final ShardLayout layout;
    private final DataType dtype;
    private final AdamWSettings settings;
    private final double clipScale;
    private final double lr;

    ShardUpdate(
            String configJson,
            ShardLayout layout,
            DataType dtype,
            AdamWSettings settings,
            double clipScale,
            double lr) {
        this.configJson = configJson;
        this.layout = layout;
        this.dtype = dtype;
        this.settings = settings;
        this.clipScale = clipScale;
        this.lr = lr;
    }

    @Override
    public Iterator<OptimizerShard> call(Iterator<OptimizerShard> states, Iterator<ReducedShard> reduced) {
        TaskSetup.beforeTask();
        OptimizerShard state = states.next();
        ReducedShard gradient = reduced.next();
        if (state.shard != gradient.shard || states.hasNext() || reduced.hasNext()) {
            throw new IllegalStateException(
                    "shard update: optimizer shard " + state.shard + " met the gradient of shard " + gradient.shard);
        }
        int k = state.shard;
        CheckpointSchema schema = CheckpointSchema.of(config());
        try (INDArray mask = WeightDecayMask.slice(schema, dtype, layout.start(k), layout.end(k));
                INDArray p = state.parameters.toArray();
                INDArray g = gradient.meanGradient.toArray();
                INDArray m = state.m.toArray();
                INDArray v = state.v.toArray()) {
            AdamW adamw = new AdamW(mask, settings);
            adamw.restore(new AdamWState(state.updates, m, v));
            if (clipScale < 1.0) {
                g.muli(clipScale); // as GradientClipping does to the whole vector
            }
            adamw.step(p, g, lr);
            AdamWState after = adamw.state();
            try (INDArray m1 = after.m();
                    INDArray v1 = after.v()) {
                return List.of(new OptimizerShard(
                                k, adamw.step(), FlatValues.of(p), FlatValues.of(m1), FlatValues.of(v1)))
                        .iterator();
            }
        }
    }

    private MambaConfig config() {
        try {
            return MambaConfig.fromJson(configJson, "the model config of the shard update");
        } catch (MalformedConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
