package io.ssmspark.model.checkpoint;

import io.ssmspark.model.checkpoint.hf.HfBambaConfig;
import io.ssmspark.model.checkpoint.hf.HfBambaNames;
import io.ssmspark.model.checkpoint.hf.HfConfigWriter;
import io.ssmspark.model.checkpoint.hf.HfMamba2Names;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Writes a checkpoint (any {@link CheckpointLayout}) as safetensors in another layout, never as a pickle:
 * <ul>
 * <li>{@link Target#MAMBA_SSM}: ssm-spark's and mamba_ssm's own: config.json (MambaConfig fields) and
 * model.safetensors under mamba_ssm's names, F32, with a tied {@code lm_head.weight} written out too, as
 * MambaLMHeadModel's state_dict holds it (so a strict load_state_dict finds every key);</li>
 * <li>{@link Target#HF}: transformers' Mamba2ForCausalLM, MambaForCausalLM or, for hybrids and models with MLPs,
 * BambaForCausalLM ({@link HfConfigWriter}): transformers' config.json and names, F32, the tied head left out as
 * save_pretrained does.</li>
 * </ul>
 * The directory is written under a temporary name beside {@code out} and renamed to it only once complete and
 * read back: its config must map back onto the model's (up to settings that only initialise a new model), so
 * nothing is exported that would load as a different model. An existing {@code out} is refused unless it is an
 * empty directory.
 */
public final class CheckpointExport {
    /** The layouts written. */
    public enum Target {
        MAMBA_SSM("mamba_ssm"),
        HF("hf");

        private final String cliName;

        Target(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }
    }

    private static final Map<String, String> METADATA = Map.of("format", "pt");

    private CheckpointExport() {}

    /** Exports {@code model} to {@code out} in {@code target}'s layout; returns what was written, for the user. */
    public static String export(Path model, Target target, Path out) throws IOException {
        refuseExisting(out);
        LoadedCheckpoint loaded = Checkpoint.load(model, DataType.FLOAT);
        MambaConfig c = loaded.config();
        String configJson;
        MambaConfig expected;
        boolean bamba = target == Target.HF && HfConfigWriter.architecture(c).equals(HfBambaConfig.ARCHITECTURE);
        if (target == Target.HF) {
            String why = HfConfigWriter.unsupported(c);
            if (why != null) {
                throw new IllegalArgumentException(model + ": cannot export to transformers: " + why);
            }
            configJson = HfConfigWriter.toJson(c);
            // transformers' vocabulary is the embedding's rows: mamba_ssm's padded one, not padded further
            MambaConfig.Builder b = c.toBuilder().vocabSize(c.paddedVocabSize()).padVocabSizeMultiple(1);
            if (bamba) {
                // Bamba's intermediate_size is the MLP's width, mamba_ssm's rounded d_intermediate; residual_in_fp32
                // is not a Bamba field (and changes nothing ssm-spark computes)
                b.dIntermediate(c.mlpHidden()).residualInFp32(true);
                if (c.attnLayerIdx().isEmpty()) { // attention settings of no layer
                    b.attn(AttnConfig.builder()
                            .numHeads(1)
                            .numHeadsKv(1)
                            .headDim(HfConfigWriter.NO_ATTENTION_HEAD_DIM)
                            .rotaryEmbDim(HfConfigWriter.NO_ATTENTION_HEAD_DIM / 2)
                            .rotaryEmbBase(c.attn().rotaryEmbBase())
                            .qkvProjBias(false)
                            .outProjBias(false)
                            .build());
                }
            }
            expected = b.build();
        } else {
            configJson = c.toJson();
            expected = c;
        }
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        for (TensorSpec t : loaded.schema().tensors()) {
            if (bamba) {
                putBamba(tensors, t.name(), loaded.tensor(t.name()), c);
            } else {
                String name = target == Target.HF ? HfMamba2Names.toTransformers(t.name()) : t.name();
                tensors.put(name, loaded.tensor(t.name()));
            }
        }
        if (target == Target.MAMBA_SSM && loaded.schema().isTiedHead(CheckpointSchema.LM_HEAD)) {
            tensors.put(CheckpointSchema.LM_HEAD, loaded.tensor(CheckpointSchema.EMBEDDING));
        }

        Path absolute = out.toAbsolutePath();
        Path parent = absolute.getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + absolute.getFileName() + ".");
        try {
            AtomicFiles.write(
                    tmp.resolve(Checkpoint.MODEL_FILE),
                    o -> SafeTensorsWriter.write(o, tensors, METADATA, SafeTensorsDType.F32));
            byte[] json = configJson.getBytes(StandardCharsets.UTF_8);
            AtomicFiles.write(tmp.resolve(Checkpoint.CONFIG_FILE), o -> o.write(json));
            MambaConfig back = CheckpointLayout.readConfig(tmp);
            if (!forward(back).equals(forward(expected))) {
                throw new IllegalStateException("the exported config.json reads back as " + back + ", not " + expected);
            }
            CheckpointInspection check = CheckpointInspection.of(tmp);
            if (!check.refused().isEmpty()) {
                throw new IllegalStateException("the exported directory would be refused: "
                        + check.refused().get(0));
            }
            refuseExisting(out);
            Files.deleteIfExists(absolute); // an empty directory (refuseExisting allows only that)
            try {
                Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, absolute);
            }
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        return "exported " + model + " (" + c.nLayer() + " layers, "
                + loaded.schema().totalParameters()
                + " parameters) to " + out + " as "
                + (target == Target.HF ? "transformers " + HfConfigWriter.architecture(c) : "mamba_ssm")
                + " (config.json, model.safetensors F32)";
    }

    /**
     * A tensor under Bamba's names (HfBambaNames): an attention layer's in_proj as q/k/v_proj and a GatedMLP's fc1 as
     * up_proj and gate_proj, each part its rows in order; any other tensor whole.
     */
    private static void putBamba(Map<String, INDArray> out, String name, INDArray tensor, MambaConfig c) {
        List<Long> parts = HfBambaNames.partRows(name, c);
        if (parts == null) {
            out.put(HfBambaNames.toStored(name, c), tensor);
            return;
        }
        long first = 0;
        for (int k = 0; k < parts.size(); k++) {
            INDArray rows = tensor.get(NDArrayIndex.interval(first, first + parts.get(k)), NDArrayIndex.all());
            out.put(HfBambaNames.toStored(name + "#" + k, c), rows.dup('c'));
            first += parts.get(k);
        }
    }

    /** The config with the settings that only initialise a new model set to their defaults. */
    static MambaConfig forward(MambaConfig c) {
        SsmConfig s = c.ssm();
        SsmConfig d = s.isMamba1() ? SsmConfig.MAMBA1_DEFAULTS : SsmConfig.DEFAULTS;
        SsmConfig.Builder b = s.toBuilder()
                .dtMin(d.dtMin())
                .dtMax(d.dtMax())
                .dtInitFloor(d.dtInitFloor())
                .dtInit(d.dtInit())
                .dtScale(d.dtScale())
                .useFastPath(d.useFastPath())
                .useMemEffPath(d.useMemEffPath())
                .convInit(d.convInit())
                .aInitRange(d.aInitMin(), d.aInitMax());
        if (s.isMamba1()) {
            b.dtRank(s.dtRankFor(c.dModel()));
        }
        return c.toBuilder().ssm(b.build()).fusedAddNorm(true).build();
    }

    private static void refuseExisting(Path out) throws IOException {
        if (!Files.exists(out)) {
            return;
        }
        if (!Files.isDirectory(out)) {
            throw new FileAlreadyExistsException(out.toString(), null, "--out exists and is not a directory");
        }
        try (Stream<Path> s = Files.list(out)) {
            if (s.findAny().isPresent()) {
                throw new DirectoryNotEmptyException(out + ": --out exists and is not empty; nothing was written");
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
