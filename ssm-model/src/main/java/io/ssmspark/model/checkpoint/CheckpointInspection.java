package io.ssmspark.model.checkpoint;

import io.ssmspark.model.checkpoint.hf.HfConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.mixer.Mixers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a checkpoint directory holds, found as {@link Checkpoint#load} would find it but without reading any tensor
 * data: the layout and architecture, the layers, the parameter count, the element types on disk, the vocabulary, the
 * weight files, and every tensor the model ignores (a tied head) or refuses (the problems load would stop at).
 * A config.json that cannot be read, or a weight file that cannot be opened, is an error as for load.
 */
public final class CheckpointInspection {
    private final CheckpointLayout layout;
    private final CheckpointSchema schema;
    private final WeightPlan plan;

    private CheckpointInspection(CheckpointLayout layout, CheckpointSchema schema, WeightPlan plan) {
        this.layout = layout;
        this.schema = schema;
        this.plan = plan;
    }

    public static CheckpointInspection of(Path dir) throws IOException {
        CheckpointLayout layout = CheckpointLayout.detect(dir);
        CheckpointSchema schema = CheckpointSchema.of(layout.config());
        return new CheckpointInspection(layout, schema, WeightPlan.of(layout, schema, TensorFile::open));
    }

    public CheckpointLayout layout() {
        return layout;
    }

    /** What {@link Checkpoint#load} would refuse, each as its message; empty when the directory loads. */
    public List<String> refused() {
        return plan.problems();
    }

    /** Stored tensors the model does not use as parameters, each with why. */
    public List<String> ignored() {
        List<String> out = new ArrayList<>();
        WeightPlan.Source head = plan.tiedHead();
        if (head != null) {
            out.add(head.storedName() + " in " + head.file().getFileName() + " (the head is tied to the embedding;"
                    + " load checks that it equals " + layout.toStoredName(CheckpointSchema.EMBEDDING) + ")");
        }
        return Collections.unmodifiableList(out);
    }

    /** Stored element types and how many tensors have each. */
    public Map<String, Integer> storedDtypes() {
        return plan.dtypeCounts();
    }

    /** One letter per layer: the first letter of its mixer's name (M = Mamba2 or Mamba1, A = attention, R = RetNet). */
    public String layerPattern() {
        MambaConfig c = layout.config();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < c.nLayer(); i++) {
            String name = Mixers.layerName(c, i);
            b.append(name.equals(Mixers.ATTENTION) ? 'A' : name.charAt(0));
        }
        return b.toString();
    }

    /** The report, one line each. */
    public List<String> lines() {
        MambaConfig c = layout.config();
        List<String> out = new ArrayList<>();
        out.add("checkpoint: " + layout.dir());
        HfConfig hf = layout.transformers();
        String layoutLine = "layout: " + layout.kind().description();
        if (hf != null) {
            layoutLine += ", " + hf.architecture()
                    + (hf.transformersVersion() == null
                            ? ""
                            : " (written by transformers " + hf.transformersVersion() + ")");
        }
        out.add(layoutLine);
        if (layout.indexFile() != null) {
            out.add("weights: " + layout.indexFile().getFileName() + ", "
                    + layout.weightFiles().size() + " shards");
        } else {
            out.add("weights: " + layout.weightFiles().get(0).getFileName());
        }
        for (Map.Entry<Path, List<StoredTensor>> e : plan.listings().entrySet()) {
            if (layout.indexFile() != null) {
                out.add("  " + e.getKey().getFileName() + ": " + e.getValue().size() + " tensors");
            }
        }
        for (String unread : layout.unreadFiles()) {
            out.add("not read: " + unread);
        }

        Map<String, Integer> kinds = new LinkedHashMap<>();
        for (int i = 0; i < c.nLayer(); i++) {
            kinds.merge(Mixers.layerName(c, i), 1, Integer::sum);
        }
        StringBuilder mix = new StringBuilder();
        kinds.forEach((k, n) ->
                mix.append(mix.length() > 0 ? ", " : "").append(n).append(" ").append(k));
        out.add("layers: " + c.nLayer() + " (" + mix + "), pattern " + layerPattern()
                + (c.hasMlp() ? "; each layer has a GatedMLP of hidden width " + c.mlpHidden() : "; no MLP"));
        if (kinds.containsKey(Mixers.MAMBA2)) {
            out.add(String.format(
                    Locale.ROOT,
                    "  Mamba2: d_model %d, d_inner %d, %d heads of headdim %d, d_state %d,"
                            + " ngroups %d, d_conv %d, chunk_size %d",
                    c.dModel(),
                    c.dInner(),
                    c.nHeads(),
                    c.ssm().headdim(),
                    c.ssm().dState(),
                    c.ssm().ngroups(),
                    c.ssm().dConv(),
                    c.ssm().chunkSize()));
        }
        if (kinds.containsKey(Mixers.MAMBA1)) {
            out.add(String.format(
                    Locale.ROOT,
                    "  Mamba1: d_model %d, d_inner %d, d_state %d, d_conv %d, dt_rank %d, in/out_proj bias %s,"
                            + " conv1d bias %s",
                    c.dModel(),
                    c.dInner(),
                    c.ssm().dState(),
                    c.ssm().dConv(),
                    c.ssm().dtRankFor(c.dModel()),
                    c.ssm().bias() ? "yes" : "no",
                    c.ssm().convBias() ? "yes" : "no"));
        }
        if (kinds.containsKey(Mixers.ATTENTION)) {
            out.add(String.format(
                    Locale.ROOT,
                    "  MHA: %d heads on %d kv heads of head_dim %d, rotary_emb_dim %d%s",
                    c.attnNumHeads(),
                    c.attnNumHeadsKv(),
                    c.attnHeadDim(),
                    c.attn().rotaryEmbDim(),
                    c.attn().windowSize() == null ? "" : ", window " + c.attn().windowSize()));
        }
        out.add(String.format(
                Locale.ROOT, "norms: %s, eps %s", c.rmsNorm() ? "RMSNorm" : "LayerNorm", c.normEpsilon()));
        out.add(String.format(
                Locale.ROOT,
                "parameters: %,d (head %s)",
                schema.totalParameters(),
                c.tieEmbeddings() ? "tied to the embedding" : "separate"));
        StringBuilder dtypes = new StringBuilder();
        plan.dtypeCounts()
                .forEach((d, n) -> dtypes.append(dtypes.length() > 0 ? ", " : "")
                        .append(d)
                        .append(" (")
                        .append(n)
                        .append(n == 1 ? " tensor)" : " tensors)"));
        out.add("stored dtypes: " + dtypes
                + (hf != null && hf.declaredDtype() != null ? "; config.json declares " + hf.declaredDtype() : ""));
        if (c.paddedVocabSize() == c.vocabSize()) {
            out.add("vocabulary: " + c.vocabSize() + ", not padded (embedding and logits have " + c.vocabSize()
                    + " rows)");
        } else {
            out.add("vocabulary: " + c.vocabSize() + ", padded to " + c.paddedVocabSize() + " (pad_vocab_size_multiple "
                    + c.padVocabSizeMultiple() + "; embedding and logits have " + c.paddedVocabSize() + " rows)");
        }
        List<String> ignored = ignored();
        out.add("ignored: "
                + (ignored.isEmpty() ? "none" : ignored.size() + " tensor" + (ignored.size() == 1 ? "" : "s")));
        ignored.forEach(s -> out.add("  " + s));
        List<String> refused = refused();
        out.add("refused: "
                + (refused.isEmpty()
                        ? "none; the checkpoint loads"
                        : refused.size() + " (load stops at" + " the first)"));
        refused.forEach(s -> out.add("  " + s));
        if (hf != null) {
            hf.notes().forEach(n -> out.add("note: " + n));
        }
        return out;
    }
}
