package io.ssmspark.model.mixer;

import java.util.Arrays;
import java.util.Objects;

/**
 * One parameter tensor of a mixer: its name after "mixer.", its shape, whether AdamW decays it (mamba_ssm decays the
 * weights of Linear and Conv1d layers, not biases, norms, A_log, D or dt), and how a fresh model fills it.
 */
public record MixerParameter(String name, long[] shape, boolean weightDecay, ParameterInit init) {

    public MixerParameter {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(init, "init");
        shape = shape.clone();
    }

    /** A decayed weight. */
    public static MixerParameter weight(String name, ParameterInit init, long... shape) {
        return new MixerParameter(name, shape, true, init);
    }

    /** A parameter without weight decay. */
    public static MixerParameter plain(String name, ParameterInit init, long... shape) {
        return new MixerParameter(name, shape, false, init);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
