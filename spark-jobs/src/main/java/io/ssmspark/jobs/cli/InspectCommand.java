package io.ssmspark.jobs.cli;

import io.ssmspark.model.checkpoint.CheckpointInspection;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code ssm-spark inspect DIR}: what a checkpoint directory holds, found as every command's load finds it but
 * without reading tensor data ({@link CheckpointInspection}). Exits 0 when the directory loads, 2 (a user error, as
 * for any refused input) when load would refuse it; the report is printed either way.
 */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Describe a checkpoint directory without loading its weights.",
            "Reads ssm-spark's and mamba_ssm's model.safetensors, mamba_ssm's pytorch_model.bin and transformers'",
            "Mamba2ForCausalLM, MambaForCausalLM and BambaForCausalLM (one file or shards). Prints the layout and",
            "architecture, the layers and their pattern, the parameter count, the stored dtypes, the vocabulary (padded or not), and every tensor the model would",
            "ignore or refuse. Exits 2 when loading the directory would be refused."
        })
public final class InspectCommand implements Callable<Integer> {
    /** The exit code of a refused input (UserErrorHandler's user error). */
    static final int REFUSED = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Checkpoint directory (with its config.json).")
    Path dir;

    @Override
    public Integer call() throws IOException {
        CheckpointInspection inspection = CheckpointInspection.of(dir);
        PrintWriter out = spec.commandLine().getOut();
        inspection.lines().forEach(out::println);
        out.flush();
        return inspection.refused().isEmpty() ? 0 : REFUSED;
    }
}
