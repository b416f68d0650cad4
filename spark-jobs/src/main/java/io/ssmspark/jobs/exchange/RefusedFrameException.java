package io.ssmspark.jobs.exchange;

import java.io.IOException;

/**
 * A frame the exchange will not take: a length beyond the bound, or an encrypted frame that fails authentication. It
 * ends that connection only; it says nothing about the other tasks' connections.
 */
final class RefusedFrameException extends IOException {
    private static final long serialVersionUID = 1L;

    RefusedFrameException(String message) {
        super(message);
    }
}
