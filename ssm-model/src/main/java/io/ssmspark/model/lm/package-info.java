/**
 * The hybrid language model assembled from the layers: {@link io.ssmspark.model.lm.Mamba2Mixer} (mamba_ssm's
 * Mamba2 block, forward and backward, with conv/SSM carries), {@link io.ssmspark.model.lm.HybridLm} (MixerModel +
 * LM head over one flat parameter vector laid out by {@link io.ssmspark.model.checkpoint.CheckpointSchema}),
 * {@link io.ssmspark.model.lm.ModelInit} (mamba_ssm's seeded initialisation),
 * {@link io.ssmspark.model.lm.LmState} (what a window hands to the next) and
 * {@link io.ssmspark.model.lm.SequenceScorer} (per-token NLL of a long sequence in bounded memory).
 */
package io.ssmspark.model.lm;
