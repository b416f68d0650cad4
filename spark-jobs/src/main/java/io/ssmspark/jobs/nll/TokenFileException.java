package io.ssmspark.jobs.nll;

import java.io.IOException;

/** A token file that cannot be scored: empty, truncated, or holding an id outside the vocabulary. */
public class TokenFileException extends IOException {
    public TokenFileException(String message) {
        super(message);
    }
}
