package io.ssmspark.data.source;

import io.ssmspark.data.BadRecord;
import java.io.IOException;

/**
 * Reads a byte range of a raw token file that holds one sequence (the whole file). The sequence id
 * is the file path; a token outside the vocabulary spoils the whole file's record.
 */
final class TokenFileReader extends SplitReader {
    private static final int STEP_TOKENS = 1 << 16;

    private final ReadPlan plan;
    private final FileSplit split;
    private final int width;
    private final long endIndex;
    private final long fileTokens;
    private final long ordinal;
    private final ChunkBuilder builder;
    private ElementInput input;

    TokenFileReader(ReadPlan plan, FileSplit split) {
        super(plan.options.skipBadRecords());
        this.plan = plan;
        this.split = split;
        this.width = plan.options.format().tokenWidthBytes();
        this.endIndex = split.end / width;
        this.fileTokens = split.fileLength / width;
        this.ordinal = Ordinals.of(split.fileIndex, 0);
        this.builder = new ChunkBuilder(plan.options.maxChunkTokens(), this::emit);
    }

    @Override
    protected boolean step() throws IOException {
        if (input == null) {
            input = new ElementInput(plan.open(split, split.start), width, split.start / width);
            builder.begin(split.path, ordinal, split.start / width);
        }
        for (int n = 0; n < STEP_TOKENS && input.index() < endIndex; n++) {
            long index = input.index();
            int token = input.next();
            if (!plan.vocabulary.contains(token)) {
                builder.abandon();
                bad(new BadRecord(
                        split.path,
                        ordinal,
                        "byte",
                        index * width,
                        "token id " + token + " outside the vocabulary [0, " + plan.vocabulary.size() + ")"));
                return false;
            }
            builder.add(token);
        }
        if (input.index() >= endIndex) {
            builder.end(endIndex == fileTokens);
            return false;
        }
        return true;
    }

    @Override
    protected void closeInput() throws IOException {
        if (input != null) {
            input.close();
        }
    }
}
