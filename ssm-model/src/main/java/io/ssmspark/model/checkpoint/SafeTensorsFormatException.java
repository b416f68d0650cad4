package io.ssmspark.model.checkpoint;

import java.io.IOException;

/** A safetensors or checkpoint file that is malformed or does not match what the config expects. */
public class SafeTensorsFormatException extends IOException {
    public SafeTensorsFormatException(String message) {
        super(message);
    }

    public SafeTensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
