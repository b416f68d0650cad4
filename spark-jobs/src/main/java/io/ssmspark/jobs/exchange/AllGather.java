package io.ssmspark.jobs.exchange;

/** An all-gather among the tasks of a barrier stage: every task's message of the round (of its group), in task order. */
public interface AllGather {
    byte[][] allGather(byte[] message);

    /** Called once after this task's last round. */
    default void finish() {}

    /** Called when this task fails, with the reason, before the failure leaves it. */
    default void failed(Throwable cause) {}
}
