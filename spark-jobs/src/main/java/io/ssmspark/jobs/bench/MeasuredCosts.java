package io.ssmspark.jobs.bench;

/**
 * The constants the training cost model ({@link TrainProjection}) is built from, as measured on this machine by
 * {@link CostMeasurements}. Compute costs are seconds per token per layer of a forward + backward training step of the
 * bench model (width {@code benchDModel}); the Spark costs are per byte, per element or per job.
 *
 * @param benchDModel the width the compute costs were measured at
 * @param benchMlpHidden the bench model's GatedMLP hidden width
 * @param benchPaddedVocab the bench model's (padded) vocabulary
 * @param benchWindow tokens per window the compute was measured at
 * @param mambaProjectionSecondsPerToken a Mamba-2 mixer without its SSD kernel (projections, conv, gate), per layer
 * @param ssdSecondsPerToken the SSD kernel, per layer
 * @param attentionSecondsPerToken an attention block, per layer, at {@code benchWindow}
 * @param mlpSecondsPerToken a GatedMLP, per layer
 * @param normSecondsPerToken a block's norms and residual adds, per layer
 * @param headSecondsPerToken embedding, final norm, LM head and cross-entropy, per token
 * @param activationBytesPerTokenPerLayer the training step's saved activations and scratch, per token per layer
 * @param shuffleBytesPerSecond bytes of float[] records written and fetched per second by a shuffle on this master
 * @param resultBytesPerSecond bytes of task results (packed gradients) a collect brings to the driver per second
 * @param broadcastSecondsPerByte broadcasting a plain array and reading it in every task, per byte
 * @param taskGradientSecondsPerElement a task adding its float gradient into its compensated sum and packing it,
 *     per element
 * @param foldSecondsPerElement adding one task's packed gradient into the compensated sum, per element
 * @param optimizerSecondsPerElement gradient clipping + AdamW, per parameter
 * @param jobSeconds a trivial Spark job's round trip (one task per slot)
 * @param taskSeconds each further task of a trivial job
 * @param gemmGflops this machine's ND4J float gemm rate
 */
public record MeasuredCosts(
        int benchDModel,
        int benchMlpHidden,
        int benchPaddedVocab,
        int benchWindow,
        double mambaProjectionSecondsPerToken,
        double ssdSecondsPerToken,
        double attentionSecondsPerToken,
        double mlpSecondsPerToken,
        double normSecondsPerToken,
        double headSecondsPerToken,
        double activationBytesPerTokenPerLayer,
        double shuffleBytesPerSecond,
        double resultBytesPerSecond,
        double broadcastSecondsPerByte,
        double taskGradientSecondsPerElement,
        double foldSecondsPerElement,
        double optimizerSecondsPerElement,
        double jobSeconds,
        double taskSeconds,
        double gemmGflops) {

    /** One JSON line of the constants, with the network bandwidth the projection assumes beside the loopback rate. */
    public JsonLine toJson(String master, double networkBytesPerSecond) {
        return new JsonLine()
                .put("bench", "train-cost-constants")
                .put("master", master)
                .put("bench_d_model", benchDModel)
                .put("bench_window", benchWindow)
                .put("mamba_projection_s_per_token_layer", mambaProjectionSecondsPerToken)
                .put("ssd_s_per_token_layer", ssdSecondsPerToken)
                .put("attention_s_per_token_layer", attentionSecondsPerToken)
                .put("mlp_s_per_token_layer", mlpSecondsPerToken)
                .put("norm_s_per_token_layer", normSecondsPerToken)
                .put("head_s_per_token", headSecondsPerToken)
                .put("activation_bytes_per_token_layer", activationBytesPerTokenPerLayer)
                .put("loopback_shuffle_bytes_per_s", shuffleBytesPerSecond)
                .put("loopback_result_bytes_per_s", resultBytesPerSecond)
                .put("network_bytes_per_s", networkBytesPerSecond)
                .put("broadcast_s_per_byte", broadcastSecondsPerByte)
                .put("task_gradient_s_per_element", taskGradientSecondsPerElement)
                .put("fold_s_per_element", foldSecondsPerElement)
                .put("optimizer_s_per_element", optimizerSecondsPerElement)
                .put("job_s", jobSeconds)
                .put("task_s", taskSeconds)
                .put("gemm_gflops", gemmGflops);
    }
}
