package io.ssmspark.model.config;

import java.io.IOException;

/** A config.json that cannot be read: bad JSON, a wrong type, an unknown or unsupported field, or a broken rule. */
public class MalformedConfigException extends IOException {
    public MalformedConfigException(String message) {
        super(message);
    }

    public MalformedConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
