package io.ssmspark.model.mixer;

import io.ssmspark.model.config.MambaConfig;
import java.util.List;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One kind of mixer, as {@link Mixers} registers it under a config layer name: the parameters one layer of it holds
 * (which lay out the checkpoint and the flat parameter vector, and say how a fresh model initialises them) and how to
 * build the {@link Mixer} over them.
 */
public interface MixerFamily {

    /** The layer's mixer parameters in mamba_ssm's state_dict order, named after "backbone.layers.{i}.mixer.". */
    List<MixerParameter> parameters(MambaConfig config);

    /** The mixer over one layer's tensors (parameters or gradient accumulators), looked up by those names. */
    Mixer create(MambaConfig config, Function<String, INDArray> tensor);
}
