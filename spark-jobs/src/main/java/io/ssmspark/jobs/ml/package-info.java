/**
 * Spark ML integration: {@link io.ssmspark.jobs.ml.SsmScoreTransformer} scores a DataFrame's token-array column
 * with a checkpoint, row by row (each row's sequence whole, in one task), and saves/loads with Spark ML's
 * DefaultParamsWriter/Reader.
 */
package io.ssmspark.jobs.ml;
