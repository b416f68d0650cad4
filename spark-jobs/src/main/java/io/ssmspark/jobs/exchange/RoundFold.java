package io.ssmspark.jobs.exchange;

/**
 * What the hub answers each task of a round, computed on the driver from all of the round's messages: in place of
 * the all-gather (every task gets every message), a fold sends each task only what it reads, so the driver sends
 * O(W) messages per round instead of W². One fold serves one exchange group of one stage attempt, round after round
 * in order; a retried attempt gets a fresh one. A RuntimeException it throws breaks the attempt, and the driver
 * names it ({@link ExchangeHub#firstFailure()}).
 */
@FunctionalInterface
public interface RoundFold {
    /**
     * @param round the round, counted from 0 by every task alike
     * @param messages the round's messages, by task index in the group
     * @return the one message each task gets, by task index
     */
    byte[][] answer(int round, byte[][] messages);
}
