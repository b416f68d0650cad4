package io.ssmspark.jobs.baseline;

import io.ssmspark.data.Window;
import io.ssmspark.jobs.spark.SparkCleanup;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Mean negative log-likelihood per token, in nats, of the network on validation windows: the same
 * figure as ssm-spark's validation loss, {@code -(1/N) Σ log p(x_{t+1} | x_{≤t})} over every target of
 * every window scored.
 */
public final class ValidationNll {
    private ValidationNll() {}

    /**
     * {@code {nats, tokens}} of one DataSet: the softmax output's probability of each target (output times
     * the one-hot labels, summed over the class axis), logged in float64 and summed.
     */
    public static double[] sum(MultiLayerNetwork net, DataSet data) {
        INDArray probabilities = net.output(data.getFeatures(), false); // [mb, vocab, T]
        INDArray targetProbability = probabilities.mul(data.getLabels()).sum(1).castTo(DataType.DOUBLE); // [mb, T]
        double nats = -Transforms.log(targetProbability, false).sumNumber().doubleValue();
        return new double[] {nats, targetProbability.length()};
    }

    /**
     * The mean NLL per token of the windows of rank below {@code evalWindows}, scored on the executors in
     * minibatches of {@code batch}. The network travels as its JSON configuration and a float[] of its
     * parameters (an INDArray broadcast would be closed by Spark under its holder); partition sums are
     * added in partition order. Returns {@code {mean nats per token, windows, tokens}}.
     */
    public static double[] mean(
            JavaSparkContext sc,
            JavaRDD<Window> validation,
            MultiLayerNetwork net,
            long evalWindows,
            int batch,
            int vocab) {
        String configuration = net.getLayerWiseConfigurations().toJson();
        Broadcast<float[]> parameters = sc.broadcast(net.params().toFloatVector());
        try {
            List<double[]> parts = validation
                    .mapPartitions(windows -> List.of(scorePartition(
                                    windows, configuration, parameters.value(), evalWindows, batch, vocab))
                            .iterator())
                    .collect();
            double nats = 0;
            double scoredWindows = 0;
            double tokens = 0;
            for (double[] p : parts) {
                nats += p[0];
                tokens += p[1];
                scoredWindows += p[2];
            }
            if (tokens == 0) {
                throw new IllegalArgumentException("no validation window of rank below " + evalWindows + " to score");
            }
            return new double[] {nats / tokens, scoredWindows, tokens};
        } finally {
            SparkCleanup.destroy(parameters);
        }
    }

    private static double[] scorePartition(
            Iterator<Window> windows,
            String configuration,
            float[] parameters,
            long evalWindows,
            int batch,
            int vocab) {
        List<Window> selected = new ArrayList<>();
        windows.forEachRemaining(w -> {
            if (w.rank < evalWindows) {
                selected.add(w);
            }
        });
        double[] total = new double[3];
        if (selected.isEmpty()) {
            return total;
        }
        selected.sort(Comparator.comparingLong(w -> w.rank));
        MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(configuration));
        net.init(Nd4j.createFromArray(parameters).reshape(1, parameters.length), false);
        for (int from = 0; from < selected.size(); from += batch) {
            List<Window> minibatch = selected.subList(from, Math.min(selected.size(), from + batch));
            double[] s = sum(net, WindowDataSets.of(minibatch, vocab));
            total[0] += s[0];
            total[1] += s[1];
            total[2] += minibatch.size();
        }
        return total;
    }
}
