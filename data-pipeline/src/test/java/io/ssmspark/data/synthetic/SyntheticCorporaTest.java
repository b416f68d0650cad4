package io.ssmspark.data.synthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.DnaTokenizer;
import io.ssmspark.data.Vocabulary;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Determinism, structure, and the ideal and unigram losses of the synthetic corpora. */
class SyntheticCorporaTest {
    static SyntheticCorpus corpus(String name, String... kv) {
        Map<String, String> params = new java.util.HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            params.put(kv[i], kv[i + 1]);
        }
        return SyntheticCorpora.create(name, params);
    }

    /** Entropy of the token frequencies of the first 64 documents, separators included, in nats. */
    static double unigramEntropy(SyntheticCorpus c) {
        Map<Integer, Long> counts = new java.util.HashMap<>();
        long total = 0;
        for (int i = 0; i < Math.min(64, c.documentCount()); i++) {
            for (int t : c.generate(i).tokens) {
                counts.merge(t, 1L, Long::sum);
            }
            counts.merge(c.vocabulary().separatorId(), 1L, Long::sum);
            total += c.generate(i).tokens.length + 1;
        }
        double h = 0;
        for (long n : counts.values()) {
            double p = (double) n / total;
            h -= p * Math.log(p);
        }
        return h;
    }

    @ParameterizedTest
    @ValueSource(strings = {"associative-recall", "induction-copy", "selective-copy", "genome", "log-stream"})
    void deterministicInVocabularyAndBetterThanUnigram(String name) {
        SyntheticCorpus a = corpus(name, "documents", "100", "seed", "42");
        SyntheticCorpus b = corpus(name, "documents", "100", "seed", "42");
        SyntheticCorpus other = corpus(name, "documents", "100", "seed", "43");
        Vocabulary v = a.vocabulary();
        assertTrue(v.size() <= 256, name + " vocabulary " + v.size());
        boolean anyDifferent = false;
        for (int i = 0; i < 100; i++) {
            int[] doc = a.generate(i).tokens;
            assertArrayEquals(doc, b.generate(i).tokens, "document " + i);
            anyDifferent |= !Arrays.equals(doc, other.generate(i).tokens);
            for (int t : doc) {
                assertTrue(v.contains(t) && t != v.separatorId(), name + " token " + t);
            }
        }
        assertTrue(anyDifferent, "another seed gives other documents");
        double unigram = unigramEntropy(a);
        assertEquals(unigram, a.unigramLoss(), 1e-12);
        assertTrue(a.idealLoss() < unigram - 0.05, name + ": ideal " + a.idealLoss() + " vs unigram " + unigram);
        String d = a.describe();
        assertTrue(d.contains(String.format(java.util.Locale.ROOT, "Ideal loss %.4f", a.idealLoss())), d);
        assertTrue(d.contains(String.format(java.util.Locale.ROOT, "unigram loss %.4f", unigram)), d);
    }

    /** The documented figures (class Javadoc, module README): the same on every machine. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
        "associative-recall, 2.3240, 4.7831",
        "induction-copy, 2.3887, 4.8531",
        "selective-copy, 0.7498, 1.5439",
        "genome, 1.2119, 1.3895",
        "log-stream, 0.4590, 3.6651",
    })
    void documentedDefaultLosses(String name, double ideal, double unigram) {
        SyntheticCorpus c = corpus(name);
        assertEquals(ideal, c.idealLoss(), 5e-5, name + " ideal");
        assertEquals(unigram, c.unigramLoss(), 5e-5, name + " unigram");
        assertEquals(unigram, unigramEntropy(c), 5e-5, name + " unigram recomputed");
    }

    @Test
    void associativeRecallAnswersFollowTheirKeysAndTheIdealLossIsExact() {
        AssociativeRecall c = (AssociativeRecall)
                corpus("associative-recall", "pairs", "6", "queries", "4", "keys", "20", "values", "30");
        double perDoc = c.idealDocumentNats();
        // sum_{i<6} log(20-i) + 6 log 30 + sum_{j<4} log(6-j)
        double expected = Math.log(20.0 * 19 * 18 * 17 * 16 * 15) + 6 * Math.log(30) + Math.log(6.0 * 5 * 4 * 3);
        assertEquals(expected, perDoc, 1e-9);
        for (int i = 0; i < 50; i++) {
            SyntheticDocument d = c.generate(i);
            assertEquals(2 * 6 + 2 * 4, d.tokens.length);
            assertEquals(perDoc, d.negLogProb, 1e-9);
            Map<Integer, Integer> valueOf = new java.util.HashMap<>();
            for (int p = 0; p < 6; p++) {
                assertTrue(d.tokens[2 * p] < 20 && d.tokens[2 * p + 1] >= 20 && d.tokens[2 * p + 1] < 50);
                assertEquals(null, valueOf.put(d.tokens[2 * p], d.tokens[2 * p + 1]), "keys are distinct");
            }
            Set<Integer> asked = new HashSet<>();
            for (int q = 0; q < 4; q++) {
                int key = d.tokens[12 + 2 * q];
                assertTrue(asked.add(key), "queries are distinct");
                assertEquals(valueOf.get(key), d.tokens[12 + 2 * q + 1]);
                assertTrue(c.isAnswerPosition(12 + 2 * q + 1));
                assertFalse(c.isAnswerPosition(12 + 2 * q));
            }
        }
        assertEquals(perDoc / 21, c.idealLoss(), 1e-12);
    }

    /** Positions flagged as answers in {@code d}, recomputed from the flags one by one. */
    static Set<Integer> flagged(SyntheticDocument d) {
        Set<Integer> out = new java.util.TreeSet<>();
        for (int t = 0; t < d.answers.length; t++) {
            if (d.answers[t]) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void associativeRecallAnswersAreTheQueriedValues() {
        SyntheticCorpus c =
                corpus("associative-recall", "pairs", "5", "queries", "3", "keys", "12", "values", "9", "seed", "7");
        assertTrue(c.hasAnswers());
        for (int i = 0; i < 40; i++) {
            SyntheticDocument d = c.generate(i);
            assertEquals(d.tokens.length, d.answers.length);
            // The answers are exactly the token after each query key: positions 11, 13, 15.
            assertEquals(Set.of(11, 13, 15), flagged(d));
            assertArrayEquals(new int[] {11, 13, 15}, d.answerPositions());
            for (int t : d.answerPositions()) {
                int key = d.tokens[t - 1];
                int stated = -1;
                for (int p = 0; p < 5; p++) {
                    if (d.tokens[2 * p] == key) {
                        stated = d.tokens[2 * p + 1];
                    }
                }
                assertEquals(
                        stated,
                        d.tokens[t],
                        "document " + i + ": the answer at " + t + " is the value stated for key " + key);
            }
        }
    }

    @Test
    void inductionCopyAnswersAreTheSecondCopy() {
        SyntheticCorpus c = corpus("induction-copy", "length", "6", "alphabet", "5", "seed", "3");
        assertTrue(c.hasAnswers());
        for (int i = 0; i < 40; i++) {
            SyntheticDocument d = c.generate(i);
            assertEquals(Set.of(7, 8, 9, 10, 11, 12), flagged(d));
            for (int t : d.answerPositions()) {
                assertEquals(d.tokens[t - 7], d.tokens[t], "document " + i + " position " + t);
            }
        }
    }

    @Test
    void selectiveCopyAnswersAreTheRecalledSymbols() {
        SyntheticCorpus c = corpus("selective-copy", "length", "12", "count", "4", "alphabet", "6", "seed", "9");
        assertTrue(c.hasAnswers());
        for (int i = 0; i < 40; i++) {
            SyntheticDocument d = c.generate(i);
            assertEquals(Set.of(13, 14, 15, 16), flagged(d));
            int[] data = Arrays.stream(Arrays.copyOfRange(d.tokens, 0, 12))
                    .filter(t -> t != 6)
                    .toArray();
            assertEquals(4, data.length);
            for (int k = 0; k < 4; k++) {
                assertEquals(data[k], d.tokens[13 + k], "document " + i + ": recalled symbol " + k);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"genome", "log-stream"})
    void corporaWithoutAnswersFlagNone(String name) {
        SyntheticCorpus c = corpus(name, "documents", "3");
        assertFalse(c.hasAnswers());
        assertEquals(null, c.generate(1).answers);
        assertEquals(0, c.generate(1).answerPositions().length);
    }

    @Test
    void inductionCopyIdealAndUnigramLossesMatchTheirFormulas() {
        InductionCopy c = (InductionCopy) corpus("induction-copy", "length", "64", "alphabet", "128");
        for (int i = 0; i < 20; i++) {
            int[] t = c.generate(i).tokens;
            assertArrayEquals(Arrays.copyOfRange(t, 0, 64), Arrays.copyOfRange(t, 65, 129));
            assertEquals(128, t[64]);
        }
        // Ideal: 64 log 128 per 130 tokens (document + separator).
        assertEquals(64 * Math.log(128) / 130, c.idealLoss(), 1e-12);
        // Unigram: 128 symbols share 128/130 of the mass, marker and separator 1/130 each.
        double pSymbol = 128.0 / 130 / 128;
        double analytic = -(128.0 / 130) * Math.log(pSymbol) - 2 * (1.0 / 130) * Math.log(1.0 / 130);
        assertEquals(analytic, unigramEntropy(c), 0.02); // 8192 draws: finite-sample bias ~ 127/16384
    }

    @Test
    void selectiveCopyRecallsTheDataInOrderAndTheIdealLossIsExact() {
        SelectiveCopy c = (SelectiveCopy) corpus("selective-copy", "length", "30", "count", "5", "alphabet", "10");
        // log C(30, 5) + 5 log 10
        double expected = Math.log(142506) + 5 * Math.log(10);
        assertEquals(expected, c.idealDocumentNats(), 1e-9);
        for (int i = 0; i < 50; i++) {
            SyntheticDocument d = c.generate(i);
            assertEquals(expected, d.negLogProb, 1e-9);
            int[] data = Arrays.stream(Arrays.copyOfRange(d.tokens, 0, 30))
                    .filter(t -> t != 10)
                    .toArray();
            assertEquals(5, data.length);
            assertEquals(11, d.tokens[30]);
            assertArrayEquals(data, Arrays.copyOfRange(d.tokens, 31, 36));
        }
    }

    @Test
    void genomeForwardAlgorithmEqualsASumOverAllHiddenPaths() {
        GenomeHmm g = (GenomeHmm) corpus(
                "genome",
                "length",
                "5",
                "motifs",
                "1",
                "motif-length",
                "2",
                "motif-rate",
                "0.3",
                "switch",
                "0.1",
                "mutation",
                "0.1");
        int[] motif = DnaTokenizer.encode(g.motifs()[0]);
        double[][] at = {{0.35, 0.15, 0.15, 0.35}, {0.15, 0.35, 0.35, 0.15}};
        // States 0, 1 background; 2, 3 the motif's two positions.
        double[][] trans = {
            {0.6, 0.1, 0.3, 0}, {0.1, 0.6, 0.3, 0}, {0, 0, 0, 1}, {0.5, 0.5, 0, 0},
        };
        for (int doc = 0; doc < 8; doc++) {
            SyntheticDocument d = g.generate(doc);
            double total = 0;
            for (int path = 0; path < 1 << 10; path++) {
                double p = 1;
                int prev = -1;
                for (int t = 0; t < 5; t++) {
                    int s = (path >> (2 * t)) & 3;
                    p *= prev < 0 ? (s < 2 ? 0.5 : 0) : trans[prev][s];
                    int x = d.tokens[t];
                    p *= s < 2 ? at[s][x] : (x == motif[s - 2] ? 0.9 : 0.1 / 3);
                    prev = s;
                }
                total += p;
            }
            assertEquals(-Math.log(total), d.negLogProb, 1e-12, "document " + doc);
        }
    }

    @Test
    void genomeLettersAreNearlyUniformButTheHmmIsLearnable() {
        SyntheticCorpus g = corpus("genome");
        assertEquals(Vocabulary.dna(), g.vocabulary());
        double unigram = unigramEntropy(g);
        assertEquals(Math.log(4), unigram, 0.03);
        assertTrue(g.idealLoss() < unigram - 0.05, "ideal " + g.idealLoss());
        for (String m : ((GenomeHmm) g).motifs()) {
            assertEquals(12, m.length());
        }
    }

    @Test
    void logStreamIsTemplatedAsciiWithRisingTimestamps() {
        SyntheticCorpus c = corpus("log-stream", "lines", "20");
        assertEquals(256, c.vocabulary().size());
        for (int i = 0; i < 10; i++) {
            int[] t = c.generate(i).tokens;
            StringBuilder sb = new StringBuilder();
            for (int b : t) {
                assertTrue(b < 128, "ASCII");
                sb.append((char) b);
            }
            String[] lines = sb.toString().split("\n", -1);
            assertEquals(21, lines.length, "20 lines and an empty tail");
            String previous = "";
            for (int l = 0; l < 20; l++) {
                String ts = lines[l].substring(0, 24);
                assertTrue(ts.matches("2024-03-0[12]T\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), ts);
                assertTrue(ts.compareTo(previous) > 0, "timestamps rise");
                previous = ts;
                assertTrue(
                        lines[l].matches(".{24} (INFO|WARN|DEBUG|ERROR) \\[(api|auth|billing|search)\\] .+"), lines[l]);
            }
        }
    }

    @Test
    void plainJavaAccessAndParameterErrors() {
        SyntheticCorpus c = corpus("induction-copy", "documents", "3", "length", "4");
        assertEquals(3, c.documents().size());
        Iterator<SyntheticDocument> it = c.iterator();
        for (int i = 0; i < 3; i++) {
            SyntheticDocument d = it.next();
            assertEquals("induction-copy-" + i, d.id);
            assertArrayEquals(c.documents().get(i), d.tokens);
        }
        assertFalse(it.hasNext());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> corpus("nope"));
        assertTrue(unknown.getMessage().contains("unknown synthetic corpus 'nope'"));
        IllegalArgumentException param =
                assertThrows(IllegalArgumentException.class, () -> corpus("genome", "lenght", "5"));
        assertTrue(param.getMessage().contains("unknown parameter 'lenght'"), param.getMessage());
        IllegalArgumentException range = assertThrows(
                IllegalArgumentException.class, () -> corpus("associative-recall", "keys", "200", "values", "100"));
        assertTrue(range.getMessage().contains("at most 256"), range.getMessage());
    }
}
