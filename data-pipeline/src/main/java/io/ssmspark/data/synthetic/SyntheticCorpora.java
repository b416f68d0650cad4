package io.ssmspark.data.synthetic;

import java.util.List;
import java.util.Map;

/** The built-in synthetic corpora, by name (the NAME of {@code synthetic:NAME}). */
public final class SyntheticCorpora {
    public static final List<String> NAMES =
            List.of(AssociativeRecall.NAME, InductionCopy.NAME, SelectiveCopy.NAME, GenomeHmm.NAME, LogStream.NAME);

    private SyntheticCorpora() {}

    /** Creates corpus {@code name} with {@code parameters} (unknown names or keys are refused). */
    public static SyntheticCorpus create(String name, Map<String, String> parameters) {
        Params p = new Params(name, parameters);
        SyntheticCorpus corpus;
        switch (name) {
            case AssociativeRecall.NAME:
                corpus = new AssociativeRecall(p);
                break;
            case InductionCopy.NAME:
                corpus = new InductionCopy(p);
                break;
            case SelectiveCopy.NAME:
                corpus = new SelectiveCopy(p);
                break;
            case GenomeHmm.NAME:
                corpus = new GenomeHmm(p);
                break;
            case LogStream.NAME:
                corpus = new LogStream(p);
                break;
            default:
                throw new IllegalArgumentException("unknown synthetic corpus '" + name + "'; known: " + NAMES);
        }
        p.requireAllKnown();
        return corpus;
    }
}
