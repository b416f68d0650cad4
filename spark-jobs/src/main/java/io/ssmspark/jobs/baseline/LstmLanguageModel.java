package io.ssmspark.jobs.baseline;

import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The baseline model: {@code layers} LSTM layers of {@code hidden} units over one-hot tokens, then a
 * softmax {@link RnnOutputLayer} with multi-class cross-entropy; Adam, float32, Xavier initialisation
 * from {@code seed}, gradients clipped to L2 norm 1 per layer (ssm-spark clips the global norm to 1).
 */
public final class LstmLanguageModel {
    private LstmLanguageModel() {}

    public static MultiLayerConfiguration configuration(int vocab, int hidden, int layers, double lr, long seed) {
        if (vocab < 2 || hidden < 1 || layers < 1 || !(lr > 0)) {
            throw new IllegalArgumentException("LSTM language model: expected vocab >= 2, hidden >= 1, layers >= 1, "
                    + "lr > 0 but found vocab " + vocab + ", hidden " + hidden + ", layers " + layers + ", lr " + lr);
        }
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(new Adam(lr))
                .weightInit(WeightInit.XAVIER)
                .gradientNormalization(GradientNormalization.ClipL2PerLayer)
                .gradientNormalizationThreshold(1.0)
                .list();
        for (int i = 0; i < layers; i++) {
            list.layer(new LSTM.Builder()
                    .nIn(i == 0 ? vocab : hidden)
                    .nOut(hidden)
                    .activation(Activation.TANH)
                    .build());
        }
        list.layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .activation(Activation.SOFTMAX)
                .nIn(hidden)
                .nOut(vocab)
                .build());
        return list.build();
    }

    /** A new, initialised network. */
    public static MultiLayerNetwork build(int vocab, int hidden, int layers, double lr, long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(configuration(vocab, hidden, layers, lr, seed));
        net.init();
        return net;
    }

    /**
     * Parameter count: each LSTM layer has 4·h·(n_in + h + 1) weights (input, recurrent, bias for the four
     * gates; DL4J's LSTM has no peepholes), the output layer h·V + V.
     */
    public static long parameterCount(int vocab, int hidden, int layers) {
        long count = 0;
        for (int i = 0; i < layers; i++) {
            long nIn = i == 0 ? vocab : hidden;
            count += 4L * hidden * (nIn + hidden + 1);
        }
        return count + (long) hidden * vocab + vocab;
    }
}
