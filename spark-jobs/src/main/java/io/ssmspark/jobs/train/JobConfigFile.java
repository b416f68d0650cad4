package io.ssmspark.jobs.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigSyntax;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads a job config file (--config) into a JSON tree. A file named *.json is strict JSON; any other name
 * (job.conf, job.hocon) is HOCON, JSON's superset with comments, unquoted keys, dotted paths
 * ({@code options.seq-len = 256}), {@code include} and substitutions ({@code ${?OUT_DIR}} from the environment).
 * Either way the result is the same tree, so the two spellings of one config give the same options.
 */
final class JobConfigFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JobConfigFile() {}

    static JsonNode read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "job config file (--config) not found");
        }
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")) {
            try {
                return JSON.readTree(file.toFile());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage());
            }
        }
        try {
            String json = ConfigFactory.parseFile(
                            file.toFile(),
                            ConfigParseOptions.defaults()
                                    .setSyntax(ConfigSyntax.CONF)
                                    .setAllowMissing(false))
                    .resolve()
                    .root()
                    .render(ConfigRenderOptions.concise());
            return JSON.readTree(json);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(file + where(e.origin()) + ": not valid HOCON: " + detail(e));
        }
    }

    private static String where(ConfigOrigin origin) {
        return origin != null && origin.lineNumber() > 0 ? ", line " + origin.lineNumber() : "";
    }

    /** The exception's message without the origin prefix Typesafe Config puts in front. */
    private static String detail(ConfigException e) {
        String message = e.getMessage();
        if (e.origin() != null) {
            String prefix = e.origin().description() + ": ";
            if (message.startsWith(prefix)) {
                return message.substring(prefix.length());
            }
        }
        return message;
    }
}
