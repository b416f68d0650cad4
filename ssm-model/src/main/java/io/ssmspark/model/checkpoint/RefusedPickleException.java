package io.ssmspark.model.checkpoint;

/**
 * A pickle in a {@code pytorch_model.bin} names a global (a Python function or class) or uses an opcode that a
 * tensor state dict never needs. Nothing from the file was executed: the restricted unpickler ({@link TorchPickle})
 * only interprets data, and stops at the first thing it does not know.
 */
public final class RefusedPickleException extends TorchFormatException {
    private final String refused;
    private final long offset;

    RefusedPickleException(String message, String refused, long offset) {
        super(message);
        this.refused = refused;
        this.offset = offset;
    }

    /** What was refused: a global as "module.name", or an opcode as its pickletools name. */
    public String refused() {
        return refused;
    }

    /** Byte offset of the refused opcode in the pickle record. */
    public long offset() {
        return offset;
    }
}
