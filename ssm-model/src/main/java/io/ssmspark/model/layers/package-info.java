/**
 * The layers of the hybrid LM, each a stateless final class with its {@code forward} and {@code backward} side by
 * side, computing what mamba_ssm / PyTorch computes.
 *
 * <p>Conventions shared by every layer:
 * <ul>
 * <li>Parameters are INDArrays (often views) in PyTorch layout: Linear weight [out, in] and bias [out], conv1d
 * weight [C, K] (the checkpoint's (C, 1, K) reshaped), norm weights [d].</li>
 * <li>Token-local layers take c-ordered rows [rows, features] with row = b·T + t; sequence layers (conv,
 * attention) take [batch, T, features].</li>
 * <li>Everything runs in the inputs' dtype, FLOAT or DOUBLE; all tensors of one call share it.</li>
 * <li>{@code backward} returns the input gradient and ADDS parameter gradients into caller-provided arrays of the
 * parameter's shape (null skips a parameter), so tied weights and micro-batches accumulate naturally.</li>
 * <li>Bad arguments get one IllegalArgumentException naming the tensor and the expected vs found shape.</li>
 * </ul>
 */
package io.ssmspark.model.layers;
