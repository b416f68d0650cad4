package io.ssmspark.jobs.exchange;

/**
 * A task's side of the rounds of a barrier stage's exchange: each round it sends one message and gets the hub's
 * answer: every task's message of the round (of its group), in task order, for an all-gather; its own one message
 * where the hub folds the round ({@link RoundFold}).
 */
public interface TaskExchange {
    byte[][] round(byte[] message);

    /** Called once after this task's last round. */
    default void finish() {}

    /** Called when this task fails, with the reason, before the failure leaves it. */
    default void failed(Throwable cause) {}
}
