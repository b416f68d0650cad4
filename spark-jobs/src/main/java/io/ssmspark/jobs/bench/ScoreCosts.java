package io.ssmspark.jobs.bench;

/**
 * The constants the scoring cost model ({@link ScoreProjection}) is built from, measured on this machine by
 * {@link ScoreMeasurements}: the scoring forward of the bench score model per token and layer kind on one task's
 * ND4J threads, combining one Mamba-2 summary into a state, and the driver's exchange hub on loopback.
 *
 * @param measuredTokens tokens of the segment the forward was timed on
 * @param threads ND4J threads the forward ran on (one task's)
 * @param mambaSecondsPerTokenLayer a Mamba-2 mixer (projections, conv, SSD, gate), per layer
 * @param attentionSecondsPerTokenLayer an attention block, per layer, at {@code measuredTokens} of context
 * @param mlpSecondsPerTokenLayer a GatedMLP, per layer (0 without one)
 * @param normSecondsPerTokenLayer a block's norms and residual adds, per layer
 * @param headSecondsPerToken embedding, final norm, LM head and the NLL
 * @param workingBytesPerTokenLayer the forward's scratch per token over its layers: one layer's working set, on
 *     average
 * @param passStateSeconds one {@code passState} (S ← α·S + E) of a Mamba-2 layer's summary
 * @param hubRoundSeconds a round of the hub with two tasks and tiny messages
 * @param hubSecondsPerMessage each further message the hub receives or sends in a round
 * @param hubBytesPerSecond the hub's bytes (received + sent) per second on loopback, over the tiny round
 * @param hubLargeRoundSeconds a round of two tasks with the largest message the model sends (the rate's measurement)
 * @param hubLargeMessageBytes the message size of that round
 */
public record ScoreCosts(
        int measuredTokens,
        int threads,
        double mambaSecondsPerTokenLayer,
        double attentionSecondsPerTokenLayer,
        double mlpSecondsPerTokenLayer,
        double normSecondsPerTokenLayer,
        double headSecondsPerToken,
        double workingBytesPerTokenLayer,
        double passStateSeconds,
        double hubRoundSeconds,
        double hubSecondsPerMessage,
        double hubBytesPerSecond,
        double hubLargeRoundSeconds,
        long hubLargeMessageBytes) {

    /** Hub seconds of one round in which the driver handles {@code messages} messages of {@code bytes} in all. */
    double hubSeconds(double messages, double bytes) {
        return hubRoundSeconds + Math.max(0, messages - 6) * hubSecondsPerMessage + bytes / hubBytesPerSecond;
    }

    public JsonLine toJson(ScoreShape shape, double networkBytesPerSecond) {
        JsonLine line = new JsonLine()
                .put("bench", "score-cost-constants")
                .put("measured_tokens", measuredTokens)
                .put("nd4j_threads", threads)
                .put("d_model", shape.dModel())
                .put("mamba_layers", shape.mambaLayers())
                .put("attention_layers", shape.attentionLayers())
                .put("mlp_layers", shape.mlpLayers())
                .put("mamba_s_per_token_layer", mambaSecondsPerTokenLayer)
                .put("attention_s_per_token_layer", attentionSecondsPerTokenLayer)
                .put("mlp_s_per_token_layer", mlpSecondsPerTokenLayer)
                .put("norm_s_per_token_layer", normSecondsPerTokenLayer)
                .put("head_s_per_token", headSecondsPerToken)
                .put("working_bytes_per_token_layer", workingBytesPerTokenLayer)
                .put("pass_state_s", passStateSeconds)
                .put("hub_round_s", hubRoundSeconds)
                .put("hub_s_per_message", hubSecondsPerMessage)
                .put("hub_loopback_bytes_per_s", hubBytesPerSecond)
                .put("hub_large_round_s", hubLargeRoundSeconds)
                .put("hub_large_message_bytes", hubLargeMessageBytes)
                .put("network_bytes_per_s", networkBytesPerSecond);
        for (int l = 0; l < shape.layerCount(); l++) {
            ScoreShape.Layer layer = shape.layers().get(l);
            line.put("layer" + l + "_halo_rows", layer.haloIsWholeSegment() ? "all" : layer.haloRows())
                    .put("layer" + l + "_halo_bytes_per_row", layer.haloBytesPerRow())
                    .put("layer" + l + "_summary_bytes", layer.summaryBytes());
        }
        return line;
    }
}
