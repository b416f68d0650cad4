package io.ssmspark.jobs.cli;

import io.ssmspark.data.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tokenizer.json a command encodes text with: {@code --tokenizer} when given, else the one in the model's
 * directory (a model trained on tokenized text, or a Hugging Face model directory, keeps its tokenizer.json beside
 * config.json), else none: text is then a token per byte. Taking the model's own keeps text from being scored
 * under a vocabulary the model was not trained on.
 */
final class ModelTokenizer {
    private static final Logger LOG = LoggerFactory.getLogger(ModelTokenizer.class);

    private ModelTokenizer() {}

    /** {@code explicit}, or the model directory's tokenizer.json when it has one, or null. */
    static Path resolve(Path explicit, Path modelDir) {
        if (explicit != null) {
            return explicit;
        }
        Path own = modelDir.resolve(TextTokenizer.FILE_NAME);
        if (Files.isRegularFile(own)) {
            LOG.info("text is encoded with the model's own {} (--tokenizer overrides it)", own);
            return own;
        }
        return null;
    }
}
