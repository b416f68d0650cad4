/**
 * {@code ssm-spark train} and {@code ssm-spark demo}: data-parallel training on Spark (DESIGN.md, "Data-parallel
 * training").
 *
 * <p>One step, driven by {@link io.ssmspark.jobs.train.Trainer}:
 * <ol>
 *   <li>{@link io.ssmspark.jobs.train.WindowSchedule} picks the step's windows by rank (a pure function of seed,
 *       epoch and step);</li>
 *   <li>the parameters are broadcast as a plain array ({@link io.ssmspark.jobs.spark.ModelBlob}) and built
 *       once per step per executor JVM ({@link io.ssmspark.jobs.spark.ExecutorModels});</li>
 *   <li>each task ({@link io.ssmspark.jobs.train.WindowPass}) runs forward and backward over its micro-batches
 *       (ranks r with the same r / M, placed whole on one partition by
 *       {@link io.ssmspark.data.GroupPartitioner}) and adds each micro-batch's gradient sum into a
 *       double-double {@link io.ssmspark.jobs.train.CompensatedSum};</li>
 *   <li>the task sends its sum packed to 12 bytes per parameter ({@link io.ssmspark.jobs.train.PackedSum}) and
 *       frees its native buffers at once;</li>
 *   <li>{@link io.ssmspark.jobs.train.DistributedPass} adds the partition sums on the driver into one
 *       double-double accumulator in partition-index order; the driver divides by the token count, clips and
 *       applies AdamW once.</li>
 * </ol>
 * Because micro-batches do not depend on the partitioning and the double-double sums make the addition order
 * irrelevant (below ~1e-30 relative; the packed partition sums keep ~77 bits), 1, 2, 3 or 4 partitions give the
 * same parameters, bit for bit in the tests. A single double per parameter would not: the partition sums would
 * then be rounded in a way that depends on the partitioning.
 *
 * <p>Outputs ({@link io.ssmspark.jobs.train.RunFiles}, any Hadoop FS, every write atomic): OUT/metrics.jsonl,
 * OUT/loss.png, OUT/summary.json, OUT/checkpoints/step-NNNNNNNN/ and OUT/final/
 * ({@link io.ssmspark.jobs.train.TrainingCheckpoint}).
 */
package io.ssmspark.jobs.train;
