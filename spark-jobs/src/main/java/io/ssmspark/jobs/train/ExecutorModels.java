package io.ssmspark.jobs.train;

import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Executor-side cache: the parameters of the current broadcast, wrapped into an INDArray once per step (per
 * broadcast id) and shared by the tasks of that step that run in this JVM. Only the latest is kept.
 */
final class ExecutorModels {
  private static long cachedId = -1;
  private static MambaConfig cachedConfig;
  private static INDArray cachedParameters;

  private ExecutorModels() {}

  static synchronized HybridLm model(Broadcast<FlatParameters> broadcast) {
    if (cachedId != broadcast.id()) {
      FlatParameters p = broadcast.value();
      try {
        cachedConfig = MambaConfig.fromJson(p.configJson, "broadcast model config");
      } catch (MalformedConfigException e) {
        throw new IllegalStateException("the broadcast model config does not parse: " + e.getMessage(), e);
      }
      cachedParameters = p.toArray();
      cachedId = broadcast.id();
    }
    return new HybridLm(cachedConfig, cachedParameters);
  }
}
