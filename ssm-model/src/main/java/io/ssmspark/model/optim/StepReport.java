package io.ssmspark.model.optim;

/**
 * The outcome of one {@link Optimizer#step}.
 *
 * @param step    completed optimizer steps after this call (unchanged when not applied)
 * @param lr      the learning rate used, or NaN when the update was not applied
 * @param clip    the gradient norm before clipping and the scale applied
 * @param applied false when the gradient norm was not finite: parameters and optimizer state are
 *                untouched, and the trainer must stop or skip the batch
 */
public record StepReport(long step, double lr, ClipResult clip, boolean applied) {}
