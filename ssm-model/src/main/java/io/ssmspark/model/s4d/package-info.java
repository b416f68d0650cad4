/**
 * The S4D state space model (diagonal, linear time-invariant; Gu et al., "On the Parameterization and Initialization
 * of Diagonal State Space Models") that {@link io.ssmspark.model.mixer.S4dMixer} binds to a layer's weights:
 * {@link io.ssmspark.model.s4d.Discretization} (ZOH and bilinear, for one mode), {@link io.ssmspark.model.s4d.S4dInit}
 * (the Lin, Inv, Real and LegS-diagonal initialisations), {@link io.ssmspark.model.s4d.Cx} (complex arrays as real
 * and imaginary parts), {@link io.ssmspark.model.s4d.FftConv} (causal convolution and its correlations by real FFTs)
 * and {@link io.ssmspark.model.s4d.S4dKernel} (the blocked convolution mode with carried states, and its backward).
 */
package io.ssmspark.model.s4d;
