package io.ssmspark.model.checkpoint;

/**
 * A {@code pytorch_model.bin} (torch.save zip archive) that is malformed, not a tensor state dict, or written in
 * a form ssm-spark does not read. A kind of {@link SafeTensorsFormatException}, the checkpoint-format error that
 * every loader throws.
 */
public class TorchFormatException extends SafeTensorsFormatException {
    public TorchFormatException(String message) {
        super(message);
    }

    public TorchFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
