/**
 * Sequence-parallel scoring: {@code ssm-spark score} and its engine (DESIGN.md, "State passing across segments").
 *
 * <pre>
 * bin/ssm-spark score --model DIR --input PATH --input-format text|fasta|tokens-i32|tokens-u16|parquet
 *     --output DIR [--segment-length N] [--format parquet|csv] [--master URL] [--partitions N]
 *     [--skip-bad-records] [--dtype float32|float64] [--top-k K] [--with-embeddings]
 *     [--text-mode file|line] [--vocab-size N] [--storage-level LEVEL]
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
 * segments; the segments' streams (hidden + residual) stay in a persisted RDD and the model runs layer by layer.
 * For a Mamba2 layer each segment sends its last d_conv−1 pre-conv rows and, after running its mixer from a zero
 * SSM state ({@code Mamba2Mixer.fromZeroState}), its summary (α, E); the driver assembles each segment's conv halo
 * from as many earlier segments as it takes and runs each sequence's exclusive scan; each segment then adds
 * exp(cum_t)·(S_in·C_t) and finishes ({@code Mamba2Mixer.finish}). For attention each segment sends its last
 * window−1 keys/values (all of them under full attention). Per Mamba2 layer and segment, H·P·N + H summary
 * values and (d_conv−1)·conv_dim halo values cross the network, whatever the sequence length.
 */
package io.ssmspark.jobs.score;
