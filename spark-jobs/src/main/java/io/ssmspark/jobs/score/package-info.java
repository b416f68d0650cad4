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
 * shares its last d_conv−1 pre-conv rows; each builds its conv halo from as many earlier segments as it takes, runs
 * its mixer from a zero SSM state ({@code Mixer.fromZeroState}) and shares its summary (α, E); each takes
 * the exclusive scan of the earlier summaries as its initial state, adds exp(cum_t)·(S_in·C_t) and finishes
 * ({@code Mixer.finish}). For attention each segment shares its last window−1 keys/values (all of them under
 * full attention). The sharing is an all-gather through a small TCP service on the driver
 * ({@code spark.ssm.exchange.port}, default any free port): per Mamba2 layer and segment, H·P·N + H summary values
 * and (d_conv−1)·conv_dim halo values cross the network, whatever the sequence length. The protocol is the model's
 * {@code Mixer} interface, so the engine names no kind of layer.
 */
package io.ssmspark.jobs.score;
