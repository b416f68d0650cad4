package io.ssmspark.data.source;

import io.ssmspark.data.BadRecord;
import io.ssmspark.data.DnaTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads a FASTA (or gzip FASTA) file, record by record. A record is a '>' header line, whose first
 * word becomes the sequence id, followed by sequence lines. Blank lines and ';' comment lines are
 * ignored; a CR at a line end is dropped. Sequence letters go through {@link DnaTokenizer}; any
 * other character, a header without a name, or sequence lines before the first header make a bad
 * record.
 */
final class FastaReader extends SplitReader {
    private static final int STEP_BYTES = 1 << 16;
    private static final int MAX_HEADER_BYTES = 1 << 16;

    private final ReadPlan plan;
    private final FileSplit split;
    private final String offsetUnit;
    private final ChunkBuilder builder;
    private final java.io.ByteArrayOutputStream header = new java.io.ByteArrayOutputStream();
    private ElementInput input;
    private boolean atLineStart = true;
    private int lineKind; // 0 none, 1 header, 2 sequence, 3 comment/blank
    private long headerStart;
    private boolean inRecord;
    private boolean recordBad;
    private long recordOrdinal;
    private String recordName;
    private boolean sawAnyByte;

    FastaReader(ReadPlan plan, FileSplit split) {
        super(plan.options.skipBadRecords());
        this.plan = plan;
        this.split = split;
        this.offsetUnit = ReadPlan.isGzip(split.path) ? "decompressed byte" : "byte";
        this.builder = new ChunkBuilder(plan.options.maxChunkTokens(), this::emit);
    }

    @Override
    protected boolean step() throws IOException {
        if (input == null) {
            input = new ElementInput(plan.open(split, 0), 1, 0);
        }
        for (int n = 0; n < STEP_BYTES; n++) {
            if (!input.hasNext()) {
                if (lineKind == 1) {
                    finishHeader(input.index());
                }
                endRecord();
                if (!sawAnyByte) {
                    bad(new BadRecord(
                            split.path,
                            Ordinals.of(split.fileIndex, 0),
                            offsetUnit,
                            0,
                            "empty file after decompression: expected at least one FASTA record"));
                }
                return false;
            }
            sawAnyByte = true;
            long index = input.index();
            int b = input.next();
            if (atLineStart) {
                atLineStart = false;
                startLine(b, index);
                if (b == '\n') {
                    atLineStart = true;
                }
                continue;
            }
            if (b == '\n') {
                if (lineKind == 1) {
                    finishHeader(index);
                }
                atLineStart = true;
                continue;
            }
            if (lineKind == 1) {
                if (header.size() >= MAX_HEADER_BYTES) {
                    badRecordHere(index, "FASTA header line longer than " + MAX_HEADER_BYTES + " bytes");
                    lineKind = 3;
                } else {
                    header.write(b);
                }
            } else if (lineKind == 2) {
                sequenceByte(b, index);
            }
        }
        return true;
    }

    private void startLine(int b, long index) {
        if (b == '>') {
            endRecord();
            lineKind = 1;
            headerStart = index;
            header.reset();
            return;
        }
        if (b == '\n' || b == '\r' || b == ';') {
            lineKind = 3;
            return;
        }
        lineKind = 2;
        if (!inRecord) {
            // Sequence lines before any header: one bad pseudo-record up to the next header.
            inRecord = true;
            recordOrdinal = Ordinals.of(split.fileIndex, index);
            recordName = null;
            recordBad = false;
            badRecordHere(index, "sequence line before the first '>' header");
            return;
        }
        sequenceByte(b, index);
    }

    private void finishHeader(long index) {
        lineKind = 3;
        String text = new String(header.toByteArray(), StandardCharsets.UTF_8).strip();
        String name = text.isEmpty() ? "" : text.split("\\s+", 2)[0];
        inRecord = true;
        recordBad = false;
        recordOrdinal = Ordinals.of(split.fileIndex, headerStart);
        recordName = name;
        if (name.isEmpty()) {
            badRecordHere(headerStart, "FASTA header line without a sequence name after '>'");
            return;
        }
        builder.begin(name, recordOrdinal, 0);
    }

    private void sequenceByte(int b, long index) {
        if (recordBad || b == '\r') {
            return;
        }
        int token = DnaTokenizer.tokenOf(b);
        if (token < 0) {
            String shown = b >= 0x20 && b < 0x7f ? "'" + (char) b + "'" : String.format("byte 0x%02X", b);
            badRecordHere(
                    index,
                    "invalid FASTA sequence character " + shown
                            + "; expected A, C, G, T, N or another IUPAC nucleotide code");
            return;
        }
        builder.add(token);
    }

    private void badRecordHere(long index, String problem) {
        recordBad = true;
        builder.abandon();
        String where = recordName == null
                ? ""
                : " (record '" + recordName + "' at " + offsetUnit + " offset "
                        + (recordOrdinal & (Ordinals.MAX_OFFSET - 1)) + ")";
        bad(new BadRecord(split.path, recordOrdinal, offsetUnit, index, problem + where));
    }

    private void endRecord() {
        if (inRecord && !recordBad) {
            builder.end(true);
        }
        inRecord = false;
        recordBad = false;
    }

    @Override
    protected void closeInput() throws IOException {
        if (input != null) {
            input.close();
        }
    }
}
