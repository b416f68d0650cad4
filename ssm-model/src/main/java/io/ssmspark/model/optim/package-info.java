/**
 * The driver-side optimizer over the model's one flat parameter vector (layout:
 * {@link io.ssmspark.model.checkpoint.CheckpointSchema}).
 *
 * <p>One training step on the driver, after the executors' gradients are summed in a fixed order and
 * divided by the global token count:
 * <pre>
 *   StepReport r = optimizer.step(parameters, gradient);   // clip, lr = schedule.lr(step), AdamW
 *   if (!r.applied()) { ... stop or skip: the gradient norm was NaN or infinite, nothing changed ... }
 * </pre>
 * {@link io.ssmspark.model.optim.Optimizer} ties together {@link io.ssmspark.model.optim.GradientClipping}
 * (global L2 norm in double, torch's clip_grad_norm_ formula), {@link io.ssmspark.model.optim.LearningRateSchedule}
 * (linear warmup, cosine decay, a pure function of the step) and {@link io.ssmspark.model.optim.AdamW}
 * (torch.optim.AdamW's equations, decay masked by {@link io.ssmspark.model.optim.WeightDecayMask}).
 * For a checkpoint, {@code adamw.state().write(file)} saves m, v (F32 or F64, as trained) and the step;
 * {@code adamw.restore(AdamWState.read(file))} resumes bit for bit.
 */
package io.ssmspark.model.optim;
