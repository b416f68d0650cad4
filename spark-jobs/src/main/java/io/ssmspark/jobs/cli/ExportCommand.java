package io.ssmspark.jobs.cli;

import io.ssmspark.model.checkpoint.CheckpointExport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark export --model DIR --to mamba_ssm|hf --out DIR}: rewrites a checkpoint in any layout ssm-spark
 * reads as safetensors in mamba_ssm's layout or transformers' ({@link CheckpointExport}); never a pickle.
 */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        description = {
            "Write a checkpoint as safetensors in mamba_ssm's or transformers' layout.",
            "Reads any layout ssm-spark reads and writes config.json + model.safetensors (F32, never a pickle) in",
            "mamba_ssm's layout (--to mamba_ssm) or transformers' Mamba2ForCausalLM / MambaForCausalLM /",
            "BambaForCausalLM layout (--to hf; Bamba for hybrids and for Mamba2 with MLPs). The directory is",
            "written under a temporary name and renamed when complete; an existing --out is refused unless it is an",
            "empty directory."
        })
public final class ExportCommand implements Callable<Integer> {
    /** --to values. */
    enum To {
        mamba_ssm(CheckpointExport.Target.MAMBA_SSM),
        hf(CheckpointExport.Target.HF);

        final CheckpointExport.Target target;

        To(CheckpointExport.Target target) {
            this.target = target;
        }
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint directory to export.")
    Path model;

    @Option(names = "--to", required = true, paramLabel = "LAYOUT", description = "mamba_ssm or hf (transformers).")
    To to;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "New directory to write.")
    Path out;

    @Override
    public Integer call() throws IOException {
        String done = CheckpointExport.export(model, to.target, out);
        PrintWriter w = spec.commandLine().getOut();
        w.println(done);
        w.flush();
        return 0;
    }
}
