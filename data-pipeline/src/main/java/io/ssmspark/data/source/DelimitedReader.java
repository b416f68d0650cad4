package io.ssmspark.data.source;

import io.ssmspark.data.BadRecord;
import io.ssmspark.data.Vocabulary;
import java.io.IOException;

/**
 * Reads records that are runs of elements ended by a delimiter: text lines (bytes ended by '\n',
 * a CR before it dropped), token sequences ended by the separator token, or a whole text file (no
 * delimiter). A split owns the records that start inside it, like Hadoop's line reader: a split
 * that does not start at 0 skips past the first delimiter at or after {@code start - 1}, and the
 * last record of a split is read to its end even beyond the split.
 */
final class DelimitedReader extends SplitReader {
    private static final int NO_DELIMITER = Integer.MIN_VALUE;
    private static final int STEP_ELEMENTS = 1 << 16;

    private final ReadPlan plan;
    private final FileSplit split;
    private final int width;
    private final int delimiter;
    private final boolean text;
    private final boolean wholeFile;
    private final boolean compressed;
    private final String offsetUnit;
    private final ChunkBuilder builder;
    private final Utf8Validator utf8 = new Utf8Validator();
    private ElementInput input;
    private long endIndex;
    private boolean inRecord;
    private boolean recordBad;
    private boolean pendingCr;
    private long pendingCrIndex;
    private long recordStartIndex;
    private long recordOrdinal;
    private boolean sawAnyRecord;
    /** The record's bytes when text is encoded by a tokenizer (it needs the whole record). */
    private final java.io.ByteArrayOutputStream textBytes;

    private DelimitedReader(ReadPlan plan, FileSplit split, int width, int delimiter, boolean text, boolean wholeFile) {
        super(plan.options.skipBadRecords());
        this.plan = plan;
        this.split = split;
        this.width = width;
        this.delimiter = delimiter;
        this.text = text;
        this.wholeFile = wholeFile;
        this.compressed = ReadPlan.isGzip(split.path);
        this.offsetUnit = compressed ? "decompressed byte" : "byte";
        this.builder = new ChunkBuilder(plan.options.maxChunkTokens(), this::emit);
        this.textBytes = text && plan.options.tokenizer() != null ? new java.io.ByteArrayOutputStream() : null;
    }

    static DelimitedReader lines(ReadPlan plan, FileSplit split) {
        return new DelimitedReader(plan, split, 1, '\n', true, false);
    }

    static DelimitedReader wholeFile(ReadPlan plan, FileSplit split) {
        return new DelimitedReader(plan, split, 1, NO_DELIMITER, true, true);
    }

    static DelimitedReader tokenSequences(ReadPlan plan, FileSplit split) {
        int width = plan.options.format().tokenWidthBytes();
        return new DelimitedReader(plan, split, width, plan.options.separatorToken(), false, false);
    }

    private void open() throws IOException {
        long startIndex = compressed ? 0 : split.start / width;
        endIndex = compressed ? Long.MAX_VALUE : split.end / width;
        if (startIndex == 0) {
            input = new ElementInput(plan.open(split, 0), width, 0);
            return;
        }
        // The record under way at start-1 belongs to the previous split: skip to just past its delimiter.
        input = new ElementInput(plan.open(split, (startIndex - 1) * width), width, startIndex - 1);
        while (input.hasNext() && input.next() != delimiter) {
            // skipping the tail of the previous split's record
        }
    }

    @Override
    protected boolean step() throws IOException {
        if (input == null) {
            open();
            if (compressed && !input.hasNext()) {
                bad(new BadRecord(
                        split.path,
                        Ordinals.of(split.fileIndex, 0),
                        offsetUnit,
                        0,
                        "empty file after decompression: expected at least one record"));
                return false;
            }
        }
        if (!inRecord) {
            boolean atEnd = input.index() >= endIndex || !input.hasNext();
            if (atEnd && !(wholeFile && !sawAnyRecord)) {
                return false;
            }
            beginRecord();
        }
        for (int n = 0; n < STEP_ELEMENTS; n++) {
            if (!input.hasNext()) {
                endRecord(input.index());
                return true;
            }
            long index = input.index();
            int element = input.next();
            if (element == delimiter) {
                endRecord(index);
                return true;
            }
            if (recordBad) {
                continue;
            }
            if (text && pendingCr) {
                pendingCr = false;
                accept('\r', pendingCrIndex);
            }
            if (text && element == '\r' && !wholeFile) {
                pendingCr = true;
                pendingCrIndex = index;
                continue;
            }
            accept(element, index);
        }
        return true;
    }

    private void beginRecord() {
        inRecord = true;
        sawAnyRecord = true;
        recordBad = false;
        pendingCr = false;
        utf8.reset();
        if (textBytes != null) {
            textBytes.reset();
        }
        recordStartIndex = input.index();
        long startByte = recordStartIndex * width;
        recordOrdinal = Ordinals.of(split.fileIndex, startByte);
        String id = wholeFile ? split.path : split.path + "@" + startByte;
        builder.begin(id, recordOrdinal, 0);
    }

    private void accept(int element, long index) {
        String problem = text ? utf8.accept(element) : outsideVocabulary(element);
        if (problem != null) {
            markBad(index, problem);
            return;
        }
        if (textBytes != null) {
            textBytes.write(element);
        } else {
            builder.add(element);
        }
    }

    private String outsideVocabulary(int token) {
        Vocabulary v = plan.vocabulary;
        return v.contains(token) ? null : "token id " + token + " outside the vocabulary [0, " + v.size() + ")";
    }

    private void markBad(long index, String problem) {
        recordBad = true;
        builder.abandon();
        String where =
                wholeFile ? "" : " (record starting at " + offsetUnit + " offset " + recordStartIndex * width + ")";
        bad(new BadRecord(split.path, recordOrdinal, offsetUnit, index * width, problem + where));
    }

    private void endRecord(long index) {
        inRecord = false;
        if (recordBad) {
            return;
        }
        // A CR just before the newline (or the end of the file) ends the line with it.
        pendingCr = false;
        String problem = text ? utf8.finish() : null;
        if (problem != null) {
            markBad(index, problem);
            return;
        }
        if (textBytes != null) {
            for (int id :
                    plan.options.tokenizer().encode(textBytes.toString(java.nio.charset.StandardCharsets.UTF_8))) {
                builder.add(id);
            }
            textBytes.reset();
        }
        builder.end(true);
    }

    @Override
    protected void closeInput() throws IOException {
        if (input != null) {
            input.close();
        }
    }
}
