package io.ssmspark.model.checkpoint;

/** The safetensors element types ssm-spark reads (all four) and writes (F32 and F64). */
public enum SafeTensorsDType {
    F64(8),
    F32(4),
    F16(2),
    BF16(2);

    private final int itemSize;

    SafeTensorsDType(int itemSize) {
        this.itemSize = itemSize;
    }

    /** Bytes per element. */
    public int itemSize() {
        return itemSize;
    }

    /** The dtype with this safetensors name, or null when it is not one ssm-spark reads. */
    static SafeTensorsDType byName(String name) {
        for (SafeTensorsDType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }
}
