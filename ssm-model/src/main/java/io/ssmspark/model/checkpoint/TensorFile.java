package io.ssmspark.model.checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One open weight file (a safetensors file, a safetensors shard, or a torch.save {@code pytorch_model.bin}): the
 * tensors it lists, and each read on demand as FLOAT or DOUBLE, c order, PyTorch shape. Not thread-safe; close it
 * when done.
 */
public interface TensorFile extends AutoCloseable {
    Path file();

    /** The tensors, in the file's order. */
    List<StoredTensor> tensors();

    /** Reads one tensor by its name in the file. */
    INDArray read(String name, DataType type) throws IOException;

    @Override
    void close() throws IOException;

    /** Opens a weight file by its name: {@code *.safetensors} or a torch.save archive ({@code *.bin}, {@code *.pt}). */
    static TensorFile open(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.endsWith(".safetensors")) {
            return SafeTensorsReader.open(file);
        }
        return TorchCheckpointReader.open(file);
    }
}
