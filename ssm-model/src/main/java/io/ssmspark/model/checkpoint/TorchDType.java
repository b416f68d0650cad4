package io.ssmspark.model.checkpoint;

/**
 * The storage types a torch.save pickle names (GLOBAL {@code torch <Name>Storage}), with their element sizes: the
 * legacy typed-storage names torch keeps for compatibility (torch/storage.py, {@code _dtype_to_storage_type_map}),
 * which torch 2.x still writes in the persistent id {@code ('storage', torch.<Name>Storage, key, location, numel)}.
 * ssm-spark reads the floating-point ones; the others are recognised only to refuse a tensor of that dtype by
 * name (an unknown storage name is refused as an unknown global).
 */
enum TorchDType {
    FLOAT64("DoubleStorage", "float64", 8, SafeTensorsDType.F64),
    FLOAT32("FloatStorage", "float32", 4, SafeTensorsDType.F32),
    FLOAT16("HalfStorage", "float16", 2, SafeTensorsDType.F16),
    BFLOAT16("BFloat16Storage", "bfloat16", 2, SafeTensorsDType.BF16),
    INT64("LongStorage", "int64", 8, null),
    INT32("IntStorage", "int32", 4, null),
    INT16("ShortStorage", "int16", 2, null),
    INT8("CharStorage", "int8", 1, null),
    UINT8("ByteStorage", "uint8", 1, null),
    BOOL("BoolStorage", "bool", 1, null),
    COMPLEX128("ComplexDoubleStorage", "complex128", 16, null),
    COMPLEX64("ComplexFloatStorage", "complex64", 8, null),
    QINT8("QInt8Storage", "qint8", 1, null),
    QINT32("QInt32Storage", "qint32", 4, null),
    QUINT8("QUInt8Storage", "quint8", 1, null),
    QUINT4X2("QUInt4x2Storage", "quint4x2", 1, null),
    QUINT2X4("QUInt2x4Storage", "quint2x4", 1, null);

    private final String storageName;
    private final String torchName;
    private final int itemSize;
    private final SafeTensorsDType readAs;

    TorchDType(String storageName, String torchName, int itemSize, SafeTensorsDType readAs) {
        this.storageName = storageName;
        this.torchName = torchName;
        this.itemSize = itemSize;
        this.readAs = readAs;
    }

    /** The class name in the pickle, e.g. "BFloat16Storage". */
    String storageName() {
        return storageName;
    }

    /** torch's name of the dtype, e.g. "bfloat16". */
    String torchName() {
        return torchName;
    }

    int itemSize() {
        return itemSize;
    }

    /** The element encoding ssm-spark decodes, or null when it does not read this dtype as weights. */
    SafeTensorsDType readAs() {
        return readAs;
    }

    /** The dtype of {@code torch.<name>}, or null when {@code name} is no storage class torch writes. */
    static TorchDType byStorageName(String name) {
        for (TorchDType t : values()) {
            if (t.storageName.equals(name)) {
                return t;
            }
        }
        return null;
    }
}
