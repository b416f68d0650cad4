package io.ssmspark.model.checkpoint;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.tensor.MemoryLimits;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Loads any {@link CheckpointLayout} into one flat parameter vector: config.json first (and a config too large for
 * this JVM is refused before any weight file is opened), then every weight file's listing is matched against the
 * schema ({@link WeightPlan}; the first problem is refused by name before any tensor is read), then the files are
 * read one at a time, each tensor converted and copied into its place in the flat vector as it is read. At most
 * one weight file is open at once, and beside the flat vector only the tensor being converted is held (its file's
 * bytes are streamed in 4 MiB chunks, never read whole), so a sharded checkpoint is converted shard by shard.
 */
final class CheckpointLoader {
    private CheckpointLoader() {}

    static LoadedCheckpoint load(Path dir, DataType type) throws IOException {
        return load(dir, type, TensorFile::open);
    }

    static LoadedCheckpoint load(Path dir, DataType type, WeightPlan.Opener opener) throws IOException {
        CheckpointLayout layout = CheckpointLayout.detect(dir);
        MambaConfig config = layout.config();
        ModelMemory.loading(type).require(config, layout.configFile().toString(), MemoryLimits.ofThisJvm());
        CheckpointSchema schema = CheckpointSchema.of(config);
        WeightPlan plan = WeightPlan.of(layout, schema, opener);
        if (!plan.problems().isEmpty()) {
            throw new SafeTensorsFormatException(plan.problems().get(0));
        }
        INDArray flat = Nd4j.create(type, schema.totalParameters());
        Map<String, INDArray> views = schema.unflatten(flat);

        Map<Path, List<WeightPlan.Placement>> byFile = new LinkedHashMap<>();
        for (Path file : layout.weightFiles()) {
            byFile.put(file, new ArrayList<>());
        }
        for (WeightPlan.Placement p : plan.parameters()) {
            byFile.get(p.source().file()).add(p);
        }
        for (Map.Entry<Path, List<WeightPlan.Placement>> e : byFile.entrySet()) {
            if (e.getValue().isEmpty()) {
                continue;
            }
            try (TensorFile f = opener.open(e.getKey())) {
                for (WeightPlan.Placement p : e.getValue()) {
                    String stored = p.source().storedName();
                    INDArray tensor = f.read(stored, type);
                    Checkpoint.requireFinite(e.getKey(), stored, tensor);
                    INDArray view = views.get(p.schemaName());
                    if (p.rows() < 0) {
                        view.assign(tensor);
                    } else {
                        view.get(NDArrayIndex.interval(p.rowOffset(), p.rowOffset() + p.rows()), NDArrayIndex.all())
                                .assign(tensor);
                    }
                }
            }
        }
        WeightPlan.Source head = plan.tiedHead();
        if (head != null) {
            INDArray embedding = views.get(CheckpointSchema.EMBEDDING);
            INDArray stored;
            try (TensorFile f = opener.open(head.file())) {
                stored = f.read(head.storedName(), type);
            }
            double diff = Checkpoint.maxAbsDifference(embedding, stored);
            if (!(diff == 0)) {
                throw new SafeTensorsFormatException(head.file() + ": " + Checkpoint.CONFIG_FILE + " says "
                        + layout.tieField() + " = true but tensor '" + head.storedName() + "' differs from '"
                        + layout.toStoredName(CheckpointSchema.EMBEDDING) + "' (max |difference| = " + diff + ")");
            }
        }
        return new LoadedCheckpoint(config, schema, views);
    }
}
