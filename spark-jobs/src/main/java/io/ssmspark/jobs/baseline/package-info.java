/**
 * The Java-ecosystem baseline, {@code ssm-spark bench dl4j-baseline}: a DL4J LSTM language model trained
 * through dl4j-spark's parameter averaging on the same training windows as ssm-spark, for a fixed wall
 * time, then scored on the same validation windows (mean NLL per token, nats).
 *
 * <p>dl4j-spark is a provided dependency (it is not in the job jar): the tests and {@code bin/ssm-spark}
 * in local mode see it; a cluster run needs its jars on the classpath (e.g. spark-submit --jars).
 * Only {@link Dl4jLstmBaseline} and the classes it calls touch DL4J, so the CLI loads without it.
 */
package io.ssmspark.jobs.baseline;
