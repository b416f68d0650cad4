/**
 * The hybrid language model assembled from the layers.
 * <ul>
 * <li>{@link io.ssmspark.model.mixer.Mixer}: the one interface every path drives a block's mixer through (a whole
 * window with carries and its backward, a one-token step, the segment protocol of sequence-parallel scoring);
 * {@link io.ssmspark.model.mixer.Mamba2Mixer} (mamba_ssm's Mamba2 block) and
 * {@link io.ssmspark.model.mixer.AttentionMixer} (mamba_ssm's MHA) implement it, and
 * {@link io.ssmspark.model.mixer.Mixers} is the one place a kind of mixer is registered, by config layer name.</li>
 * <li>{@link io.ssmspark.model.lm.HybridLm}: MixerModel + LM head over one flat parameter vector laid out by
 * {@link io.ssmspark.model.checkpoint.CheckpointSchema}; its {@code blocks}/{@code block} are the one walk over the
 * blocks that training, decoding ({@link io.ssmspark.model.lm.Decoder}), windowed scoring
 * ({@link io.ssmspark.model.lm.LayerwiseWindow}, {@link io.ssmspark.model.lm.SequenceScorer}), the ML transformer
 * and sequence-parallel scoring use.</li>
 * <li>{@link io.ssmspark.model.lm.ModelInit} (mamba_ssm's seeded initialisation) and
 * {@link io.ssmspark.model.lm.LmState} (what a window hands to the next: one mixer carry per layer).</li>
 * </ul>
 */
package io.ssmspark.model.lm;
