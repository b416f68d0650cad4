package io.ssmspark.model.ssd;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradients of a scalar loss with respect to every SSD input, in the inputs' shapes. dD is null
 * when the inputs had no D; dInitialState is always present (zeros-initial-state gradient too).
 */
public record SsdGradients(
        INDArray dx, INDArray ddt, INDArray dA, INDArray dB, INDArray dC, INDArray dD, INDArray dInitialState) {}
