/**
 * Sequence-parallel scoring: {@code ssm-spark score} and its engine (DESIGN.md, "State passing across segments").
 *
 * <pre>
 * bin/ssm-spark score --model DIR --input PATH --input-format text|fasta|tokens-i32|tokens-u16|parquet
 *     --output DIR [--segment-length N] [--format parquet|csv] [--master URL] [--partitions N]
 *     [--skip-bad-records] [--dtype float32|float64] [--top-k K] [--with-embeddings]
 *     [--text-mode file|line] [--vocab-size N] [--storage-level LEVEL] [--parallel-segments N]
 * </pre>
 *
 * <p>Outputs: OUTPUT/tokens, one row per scored position: {@code sequence_id string, position bigint, token int,
 * nll double} (natural log; position i is token i given tokens 0..i−1, from 1), then {@code embedding
 * array<float>} (norm_f output at the input that predicted the position) and {@code top_k array<int>} (best
 * first) when asked for; OUTPUT/summary, one row per sequence: {@code sequence_id, tokens, scored_positions,
 * mean_nll, perplexity, bits_per_token} (NaN means for a one-token sequence). {@code --format csv} writes the
 * token rows with exactly the header {@code sequence_id,position,token,nll}.
 *
 * <p>Engine ({@link io.ssmspark.jobs.score.SequenceParallelScorer}): the data pipeline cuts each sequence into
 * segments; the segments, numbered in sequence order, go round-robin to the tasks of one Spark barrier stage
 * ({@code --parallel-segments}, default Spark's default parallelism), which score them in waves of one segment per
 * task, layer by layer, each task holding its segment's stream in its own memory. For a Mamba2 layer each segment
 * sends its last d_conv−1 pre-conv rows and gets back its conv halo (the last d_conv−1 rows before it), runs its
 * mixer from a zero SSM state ({@code Mixer.fromZeroState}) and sends its summary (α, E); it gets back the
 * exclusive scan of the earlier summaries as its initial state, adds exp(cum_t)·(S_in·C_t) and finishes
 * ({@code Mixer.finish}). For attention each segment sends its last window−1 keys/values (all of them under full
 * attention) and gets those before it. The rounds go through a small TCP service on the driver
 * ({@code spark.ssm.exchange.port}, default any free port), which folds them ({@code WaveFold}) and answers each
 * task with its own halo and state: per Mamba2 layer and segment, H·P·N + H summary values and (d_conv−1)·conv_dim
 * halo values go up and H·P·N + (d_conv−1)·conv_dim come down, whatever the sequence length and the task count. The protocol is the model's
 * {@code Mixer} interface, so the engine names no kind of layer.
 */
package io.ssmspark.jobs.score;
