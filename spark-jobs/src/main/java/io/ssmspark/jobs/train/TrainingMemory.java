package io.ssmspark.jobs.train;

import io.ssmspark.model.checkpoint.ModelMemory;
import org.nd4j.linalg.api.buffer.DataType;

/** What training holds on the driver at least, per parameter, whatever the data (activations come on top). */
public final class TrainingMemory {
    private TrainingMemory() {}

    /**
     * Native: the parameters, AdamW's m, v, decay mask and scratch, the gradient's double-double sum (five doubles,
     * {@link CompensatedSum}) and its mean as a double. Heap: the parameters as the plain array broadcast to the tasks,
     * which also caps them at one Java array.
     */
    public static ModelMemory of(DataType dtype) {
        long b = dtype.width();
        return new ModelMemory(
                "training it in " + ModelMemory.name(dtype) + " (the parameters, AdamW's state, the"
                        + " gradient sums and the broadcast copy)",
                5 * b + 6 * 8,
                b,
                ModelMemory.MAX_JAVA_ARRAY);
    }
}
