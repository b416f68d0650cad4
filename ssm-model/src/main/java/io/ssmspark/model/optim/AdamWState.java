package io.ssmspark.model.optim;

import io.ssmspark.model.checkpoint.SafeTensorEntry;
import io.ssmspark.model.checkpoint.SafeTensors;
import io.ssmspark.model.checkpoint.SafeTensorsDType;
import io.ssmspark.model.checkpoint.SafeTensorsFormatException;
import io.ssmspark.model.checkpoint.SafeTensorsReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What {@link AdamW} needs to resume bit for bit: the first and second moments as two rank-1 tensors
 * ({@value #M}, {@value #V}) and the number of completed steps, kept as the safetensors metadata
 * string {@value #STEP} (a long, exact beyond the 2^24 a float tensor could hold). The decay mask is
 * not part of it: it follows from the schema. A FLOAT state is written as F32 and a DOUBLE state as
 * F64, so the file round trip is exact.
 */
public record AdamWState(long step, INDArray m, INDArray v) {
    public static final String M = "adamw.m";
    public static final String V = "adamw.v";
    public static final String STEP = "adamw.step";

    public AdamWState {
        if (step < 0) {
            throw new IllegalArgumentException("AdamW state '" + STEP + "' must be >= 0, found " + step);
        }
        checkTensor(M, m);
        checkTensor(V, v);
        if (m.dataType() != v.dataType() || m.length() != v.length()) {
            throw new IllegalArgumentException(
                    "AdamW state tensors disagree: '" + M + "' is " + m.dataType() + " " + Arrays.toString(m.shape())
                            + " but '" + V + "' is " + v.dataType() + " " + Arrays.toString(v.shape()));
        }
    }

    /** The tensors by name, for {@link SafeTensors#write}. */
    public Map<String, INDArray> tensors() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        out.put(M, m);
        out.put(V, v);
        return out;
    }

    /** The metadata strings, for {@link SafeTensors#write}: the step counter. */
    public Map<String, String> metadata() {
        return Map.of(STEP, Long.toString(step));
    }

    /** F32 for a FLOAT state, F64 for a DOUBLE one: the file type that keeps every bit. */
    public SafeTensorsDType fileType() {
        return m.dataType() == DataType.DOUBLE ? SafeTensorsDType.F64 : SafeTensorsDType.F32;
    }

    /** Writes the state as a safetensors file, atomically. */
    public void write(Path file) throws IOException {
        SafeTensors.write(file, tensors(), metadata(), fileType());
    }

    /**
     * Reads a state file written by {@link #write}. Both tensors must be F32 (read as FLOAT) or both F64
     * (read as DOUBLE); anything else is refused with a {@link SafeTensorsFormatException} naming the file
     * and the tensor or field.
     */
    public static AdamWState read(Path file) throws IOException {
        try (SafeTensorsReader reader = SafeTensors.open(file)) {
            List<SafeTensorEntry> entries = reader.entries();
            SafeTensorsDType stored = null;
            for (SafeTensorEntry e : entries) {
                if (e.dtype() != SafeTensorsDType.F32 && e.dtype() != SafeTensorsDType.F64) {
                    throw new SafeTensorsFormatException(file + ": tensor '" + e.name() + "' is " + e.dtype()
                            + " but optimizer state must be F32 or F64 to resume exactly");
                }
                if (stored != null && e.dtype() != stored) {
                    throw new SafeTensorsFormatException(file + ": tensor '" + e.name() + "' is " + e.dtype()
                            + " but an earlier tensor is " + stored + "; optimizer state has one type");
                }
                stored = e.dtype();
            }
            DataType type = stored == SafeTensorsDType.F64 ? DataType.DOUBLE : DataType.FLOAT;
            try {
                return fromTensors(reader.readAll(type), reader.metadata(), file.toString());
            } catch (IllegalArgumentException e) {
                throw new SafeTensorsFormatException(e.getMessage(), e);
            }
        }
    }

    /**
     * The state held by {@code tensors} (exactly {@value #M} and {@value #V}) and {@code metadata} (with
     * {@value #STEP}); {@code source} (a file name, say) starts every error message.
     */
    public static AdamWState fromTensors(Map<String, INDArray> tensors, Map<String, String> metadata, String source) {
        if (tensors == null || metadata == null) {
            throw new IllegalArgumentException(source + ": AdamW state needs tensors and metadata, found null");
        }
        for (String name : List.of(M, V)) {
            if (!tensors.containsKey(name)) {
                throw new IllegalArgumentException(
                        source + ": AdamW state tensor '" + name + "' is missing (found " + tensors.keySet() + ")");
            }
        }
        for (String name : tensors.keySet()) {
            if (!name.equals(M) && !name.equals(V)) {
                throw new IllegalArgumentException(source + ": unexpected tensor '" + name
                        + "' in AdamW state (expected only '" + M + "' and '" + V + "')");
            }
        }
        String stepText = metadata.get(STEP);
        if (stepText == null) {
            throw new IllegalArgumentException(source + ": AdamW state metadata '" + STEP + "' is missing");
        }
        long step;
        try {
            step = Long.parseLong(stepText.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + ": AdamW state metadata '" + STEP
                    + "' must be a non-negative integer, found '" + stepText + "'");
        }
        try {
            return new AdamWState(step, tensors.get(M), tensors.get(V));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static void checkTensor(String name, INDArray a) {
        if (a == null) {
            throw new IllegalArgumentException("AdamW state tensor '" + name + "' is null");
        }
        if (a.dataType() != DataType.FLOAT && a.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException(
                    "AdamW state tensor '" + name + "' must be FLOAT or DOUBLE, found " + a.dataType());
        }
        if (a.rank() != 1 || a.length() == 0) {
            throw new IllegalArgumentException("AdamW state tensor '" + name
                    + "' must have shape [n] with n >= 1, found " + Arrays.toString(a.shape()));
        }
    }
}
