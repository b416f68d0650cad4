package io.ssmspark.model.checkpoint;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.mixer.MixerParameter;
import io.ssmspark.model.mixer.Mixers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every parameter tensor of a config, in mamba_ssm's state_dict order and names (MixerModel inside
 * MambaLMHeadModel: Block = norm, mixer, norm2, mlp); each layer's mixer tensors are those its
 * {@link Mixers} family declares. The order also lays the tensors out in one flat
 * parameter vector, so the optimizer and Spark can treat the model as a single float[]/double[].
 * When the head is tied to the embedding, {@code lm_head.weight} is not a separate parameter.
 */
public final class CheckpointSchema {
    public static final String EMBEDDING = "backbone.embedding.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private final MambaConfig config;
    private final List<TensorSpec> tensors;
    private final Map<String, TensorSpec> byName;
    private final long totalParameters;

    private CheckpointSchema(MambaConfig config, List<TensorSpec> tensors) {
        this.config = config;
        this.tensors = Collections.unmodifiableList(tensors);
        Map<String, TensorSpec> map = new LinkedHashMap<>();
        for (TensorSpec t : tensors) {
            map.put(t.name(), t);
        }
        this.byName = Collections.unmodifiableMap(map);
        TensorSpec last = tensors.get(tensors.size() - 1);
        this.totalParameters = last.offset() + last.size();
    }

    public static CheckpointSchema of(MambaConfig c) {
        Builder b = new Builder();
        int d = c.dModel();
        b.add(EMBEDDING, true, c.paddedVocabSize(), d);
        for (int i = 0; i < c.nLayer(); i++) {
            String p = "backbone.layers." + i + ".";
            b.addNorm(p + "norm", c.rmsNorm(), d);
            for (MixerParameter m : Mixers.family(c, i).parameters(c)) {
                b.add(p + "mixer." + m.name(), m.weightDecay(), m.shape());
            }
            if (c.hasMlp()) {
                b.addNorm(p + "norm2", c.rmsNorm(), d);
                b.add(p + "mlp.fc1.weight", true, 2L * c.mlpHidden(), d);
                b.add(p + "mlp.fc2.weight", true, d, c.mlpHidden());
            }
        }
        b.addNorm("backbone.norm_f", c.rmsNorm(), d);
        if (!c.tieEmbeddings()) {
            b.add(LM_HEAD, true, c.paddedVocabSize(), d);
        }
        return new CheckpointSchema(c, b.tensors);
    }

    private static final class Builder {
        private final List<TensorSpec> tensors = new ArrayList<>();
        private long offset;

        void add(String name, boolean weightDecay, long... shape) {
            TensorSpec t = new TensorSpec(name, shape, offset, weightDecay);
            tensors.add(t);
            offset += t.size();
        }

        /** RMSNorm has a weight only; nn.LayerNorm (rms_norm = false) also has a bias. */
        void addNorm(String prefix, boolean rms, long d) {
            add(prefix + ".weight", false, d);
            if (!rms) {
                add(prefix + ".bias", false, d);
            }
        }
    }

    public MambaConfig config() {
        return config;
    }

    /** The tensors in flat-vector order. */
    public List<TensorSpec> tensors() {
        return tensors;
    }

    public List<String> names() {
        return tensors.stream().map(TensorSpec::name).toList();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The tensor of this name; IllegalArgumentException when the config has no such parameter. */
    public TensorSpec get(String name) {
        TensorSpec t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the config has no parameter named '" + name + "'");
        }
        return t;
    }

    /** Length of the flat parameter vector. */
    public long totalParameters() {
        return totalParameters;
    }

    /**
     * Copies the tensors into one new flat vector of {@code type}, in schema order. The map must hold
     * exactly the schema's tensors with their shapes (see {@link #checkTensors}).
     */
    public INDArray flatten(Map<String, INDArray> tensors, DataType type) {
        checkTensors(tensors);
        INDArray flat = Nd4j.create(type, totalParameters);
        for (TensorSpec t : this.tensors) {
            INDArray source = tensors.get(t.name());
            flat.get(NDArrayIndex.interval(t.offset(), t.offset() + t.size()))
                    .assign(source.reshape('c', new long[] {t.size()}));
        }
        return flat;
    }

    /**
     * Views of a flat parameter vector as the named tensors, in schema order (no copy: writing into a
     * view writes into {@code flat}).
     */
    public Map<String, INDArray> unflatten(INDArray flat) {
        if (flat.length() != totalParameters || !flat.isVector()) {
            throw new IllegalArgumentException("flat parameter vector has shape " + Arrays.toString(flat.shape())
                    + " but the config has " + totalParameters + " parameters");
        }
        if (flat.elementWiseStride() != 1) {
            throw new IllegalArgumentException(
                    "flat parameter vector must be contiguous, found stride " + Arrays.toString(flat.stride()));
        }
        INDArray vector = flat.rank() == 1 ? flat : flat.reshape(totalParameters); // a view: contiguous
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (TensorSpec t : tensors) {
            INDArray slice = vector.get(NDArrayIndex.interval(t.offset(), t.offset() + t.size()));
            out.put(t.name(), slice.reshape('c', t.shape()));
        }
        return out;
    }

    /**
     * Checks that {@code tensors} holds exactly this schema's tensors with their shapes. A tied
     * {@code lm_head.weight} is tolerated when it has the embedding's shape (equality of values is the
     * caller's concern). IllegalArgumentException names the first offending tensor.
     */
    public void checkTensors(Map<String, INDArray> tensors) {
        for (TensorSpec t : this.tensors) {
            INDArray a = tensors.get(t.name());
            if (a == null) {
                throw new IllegalArgumentException(
                        "tensor '" + t.name() + "' (expected shape " + Arrays.toString(t.shape()) + ") is missing");
            }
            if (!t.hasShape(a.shape())) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' has shape " + Arrays.toString(a.shape())
                        + " but the config expects " + Arrays.toString(t.shape()));
            }
        }
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            if (byName.containsKey(e.getKey())) {
                continue;
            }
            if (isTiedHead(e.getKey())) {
                long[] expected = get(EMBEDDING).shape();
                if (!Arrays.equals(expected, e.getValue().shape())) {
                    throw new IllegalArgumentException("tensor '" + LM_HEAD + "' has shape "
                            + Arrays.toString(e.getValue().shape()) + " but the config expects "
                            + Arrays.toString(expected));
                }
                continue;
            }
            throw new IllegalArgumentException("unexpected tensor '" + e.getKey() + "' with shape "
                    + Arrays.toString(e.getValue().shape()) + ": the config has no such parameter");
        }
    }

    /** Whether {@code name} is the head of a config whose head is tied to the embedding. */
    public boolean isTiedHead(String name) {
        return config.tieEmbeddings() && LM_HEAD.equals(name);
    }
}
