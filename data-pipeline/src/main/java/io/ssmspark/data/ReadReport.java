package io.ssmspark.data;

import java.io.Serializable;
import java.util.List;

/**
 * What a read found: files, records, good documents and their tokens, empty records (no tokens:
 * blank lines, FASTA records without sequence), and bad records skipped with the first few of them.
 * {@code records == documents + emptyRecords + skippedRecords}.
 */
public final class ReadReport implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final int files;
    private final long documents;
    private final long tokens;
    private final long emptyRecords;
    private final long skippedRecords;
    private final List<BadRecord> badExamples;

    public ReadReport(
            String source,
            int files,
            long documents,
            long tokens,
            long emptyRecords,
            long skippedRecords,
            List<BadRecord> badExamples) {
        this.source = source;
        this.files = files;
        this.documents = documents;
        this.tokens = tokens;
        this.emptyRecords = emptyRecords;
        this.skippedRecords = skippedRecords;
        this.badExamples = List.copyOf(badExamples);
    }

    public String source() {
        return source;
    }

    public int files() {
        return files;
    }

    public long records() {
        return documents + emptyRecords + skippedRecords;
    }

    public long documents() {
        return documents;
    }

    public long tokens() {
        return tokens;
    }

    public long emptyRecords() {
        return emptyRecords;
    }

    public long skippedRecords() {
        return skippedRecords;
    }

    /** The first bad records in input order (file, then offset). */
    public List<BadRecord> badExamples() {
        return badExamples;
    }

    /** A multi-line summary for logs. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(source)
                .append(": ")
                .append(files)
                .append(" file(s), ")
                .append(records())
                .append(" record(s): ")
                .append(documents)
                .append(" document(s) with ")
                .append(tokens)
                .append(" token(s), ")
                .append(emptyRecords)
                .append(" empty, ")
                .append(skippedRecords)
                .append(" bad record(s) skipped");
        for (BadRecord b : badExamples) {
            sb.append("\n  skipped: ").append(b.message());
        }
        if (skippedRecords > badExamples.size()) {
            sb.append("\n  ... and ")
                    .append(skippedRecords - badExamples.size())
                    .append(" more");
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return summary();
    }
}
