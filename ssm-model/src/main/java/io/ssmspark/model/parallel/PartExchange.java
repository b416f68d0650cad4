package io.ssmspark.model.parallel;

/**
 * The all-gather among the S parts of one training window: each part sends its message of the round and gets
 * every part's, in part order. Every part takes part in every round (the rounds depend on the model only).
 */
@FunctionalInterface
public interface PartExchange {
    byte[][] allGather(byte[] message);
}
