package io.ssmspark.model.scan;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradients of a scalar loss with respect to the scan's inputs: dx, ddt (batch, T, D), dA (D, N), dB, dC (batch, T,
 * N), dD (D; null when the scan had no D) and the initial state (batch, D, N).
 */
public record ScanGradients(
        INDArray dx, INDArray ddt, INDArray dA, INDArray dB, INDArray dC, INDArray dD, INDArray dInitialState) {}
