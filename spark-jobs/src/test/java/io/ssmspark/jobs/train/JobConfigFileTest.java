package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job config files: JSON (*.json) and HOCON (other names) give the same options; a bad file is named. */
class JobConfigFileTest {
    /** cluster-conf/examples/train.json spelled in HOCON: comments, unquoted keys and strings, a dotted path, 1e-3. */
    private static final String EXAMPLE_IN_HOCON = """
      # The example job of cluster-conf/examples/train.json.
      command = train
      about = "A small hybrid (3 Mamba-2 layers, attention at layer 2, 129-token vocabulary) learning multi-query \
      associative recall; the ideal loss of this corpus is 2.3240 nats/token."
      properties_file = cluster-conf/spark-defaults.standalone.conf
      options {
        model-config = cluster-conf/examples/hybrid-small.json
        data = "synthetic:associative-recall?documents=20000"
        seq-len = 256
        global-batch = 32
        steps = 2000
        lr = 1e-3 // the same double as 0.001
        seed = 1
        out = "hdfs:///user/ssm/runs/associative-recall"
      }
      options.partitions = 8
      """;

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    @Test
    void theExampleInJsonAndInHoconGivesTheSameTrainConfig() throws IOException {
        TrainConfig json = TrainConfig.readJobConfig(Path.of("../cluster-conf/examples/train.json"));
        TrainConfig hocon = TrainConfig.readJobConfig(write("train.conf", EXAMPLE_IN_HOCON));
        assertEquals(json.toJson(), hocon.toJson());
        assertEquals(256, hocon.seqLen);
        assertEquals(8, hocon.partitions);
        assertEquals(0.001, hocon.lr, 0.0);
        assertEquals("synthetic:associative-recall?documents=20000", hocon.data);
        assertEquals("hdfs:///user/ssm/runs/associative-recall", hocon.out);
    }

    @Test
    void anOptionalSubstitutionFromAnUnsetVariableLeavesTheOptionUnset() throws IOException {
        TrainConfig c = TrainConfig.readJobConfig(write("env.conf", """
        options { steps = 3, out = ${?SSM_SPARK_TEST_VARIABLE_THAT_IS_NOT_SET} }
        """));
        assertEquals(3, c.steps);
        assertNull(c.out);
    }

    @Test
    void aMalformedHoconFileIsRefusedNamingTheFileAndLine() throws IOException {
        Path file = write("broken.conf", "options {\n  seq-len = 256\n  steps = [1,\n}\n");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TrainConfig.readJobConfig(file));
        assertTrue(e.getMessage().startsWith(file + ", line 4: not valid HOCON: "), e.getMessage());

        Path unresolved = write("unresolved.conf", "options { out = ${NO_SUCH_SETTING} }\n");
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.readJobConfig(unresolved));
        assertTrue(
                e.getMessage().startsWith(unresolved + ", line 1: not valid HOCON: ")
                        && e.getMessage().contains("NO_SUCH_SETTING"),
                e.getMessage());
    }

    @Test
    void hoconOptionsAreCheckedLikeJsonOnes() throws IOException {
        Path unknown = write("unknown.conf", "options { sequence-length = 256 }\n");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TrainConfig.readJobConfig(unknown));
        assertEquals(unknown + ": options.sequence-length is not a train option", e.getMessage());

        Path wrongType = write("type.conf", "options { steps = many }\n");
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.readJobConfig(wrongType));
        assertTrue(e.getMessage().startsWith(wrongType + ": options: "), e.getMessage());
    }

    @Test
    void aJsonFileStaysStrictJson() throws IOException {
        Path file = write("job.json", EXAMPLE_IN_HOCON);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TrainConfig.readJobConfig(file));
        assertTrue(e.getMessage().startsWith(file + ": not valid JSON: "), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> TrainConfig.readJobConfig(dir.resolve("missing.conf")));
    }

    /**
     * The options are defined once, in TrainConfig (train's picocli mixin): the help shows their defaults, and the
     * defaults picocli fills in never override what a job config file gives; only typed options do.
     */
    @Test
    void typedOptionsOverrideTheFileAndDefaultsDoNot() throws IOException {
        Path file = write("job.conf", EXAMPLE_IN_HOCON);
        TrainCommand command = new TrainCommand();
        picocli.CommandLine cli = new picocli.CommandLine(command);
        cli.parseArgs("--config", file.toString(), "--steps", "5", "--overwrite");
        TrainConfig given = command.givenConfig();
        assertEquals(256, given.seqLen, "from the file");
        assertEquals(32, given.globalBatch, "from the file, not the default 8");
        assertEquals(8, given.partitions, "from the file, not the default 2");
        assertEquals(5, given.steps, "typed");
        assertEquals(Boolean.TRUE, given.overwrite, "typed");
        assertNull(given.gradAccum, "neither given nor typed: left to withDefaults");
        assertEquals(1, given.withDefaults().gradAccum);
        String help = cli.getUsageMessage();
        assertTrue(help.contains("Windows per optimizer step (default 8)"), help);
        assertTrue(help.contains("Peak learning rate (default 0.001)"), help);
    }
}
