package io.ssmspark.jobs.cli;

import io.ssmspark.data.TextTokenizer;
import io.ssmspark.data.Vocabulary;
import io.ssmspark.jobs.spark.Interruption;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.LoadedCheckpoint;
import io.ssmspark.model.lm.Decoder;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.TokenSampler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ssm-spark generate}: continues a prompt with recurrent decoding (the prompt through the chunked forward,
 * then one token at a time with O(1) work per token in the Mamba2 layers and a KV cache in attention layers).
 */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Generate tokens after a prompt with a checkpoint, by recurrent decoding.",
            "Prints the generated ids ('generated: a,b,c') and their text ('text: ...'): decoded by --tokenizer,",
            "or else when the checkpoint directory holds a byte-kind vocab.json (ids 256+ by special-token name)."
        })
public final class GenerateCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(GenerateCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Checkpoint directory (config.json + model.safetensors, optional vocab.json).")
    Path model;

    @Option(
            names = "--prompt-tokens",
            paramLabel = "ID,ID,...",
            description = "Comma-separated prompt token ids, each in [0, vocab_size).")
    String promptTokens;

    @Option(
            names = "--prompt",
            paramLabel = "TEXT",
            description = "Prompt text, encoded by --tokenizer (instead of --prompt-tokens).")
    String promptText;

    @Option(
            names = "--tokenizer",
            paramLabel = "PATH",
            description = "Hugging Face tokenizer.json (or a model directory holding one): encodes --prompt and"
                    + " decodes the generated ids ('text: ...').")
    Path tokenizer;

    @Option(names = "--max-new", required = true, paramLabel = "N", description = "Tokens to generate (>= 1).")
    int maxNew;

    @Option(
            names = "--temperature",
            defaultValue = "0",
            paramLabel = "T",
            description = "0 (default): greedy; > 0: sample from softmax(logits / T).")
    double temperature;

    @Option(
            names = "--top-k",
            defaultValue = "0",
            paramLabel = "K",
            description = "Sample among the K most likely tokens only; 0 (default): all.")
    int topK;

    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "S",
            description = "Seed of the sampler (default: ${DEFAULT-VALUE}); the same seed gives the same tokens.")
    long seed;

    @Option(
            names = "--dtype",
            defaultValue = "float32",
            paramLabel = "float32|float64",
            description = "Compute precision (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Override
    public Integer call() throws IOException {
        DataType type = NllCommand.dataType(dtype);
        if (maxNew < 1) {
            throw new IllegalArgumentException("--max-new: expected at least 1 token but found " + maxNew);
        }
        TokenSampler sampler = new TokenSampler(temperature, topK, seed);
        LoadedCheckpoint checkpoint = Checkpoint.load(model, type);
        int vocab = checkpoint.config().vocabSize();
        if ((promptTokens == null) == (promptText == null)) {
            throw new IllegalArgumentException("give exactly one of --prompt-tokens ID,... and --prompt TEXT");
        }
        Path tokenizerFile = ModelTokenizer.resolve(tokenizer, model);
        if (promptText != null && tokenizerFile == null) {
            throw new IllegalArgumentException("--prompt: needs --tokenizer (the model directory " + model + " has no "
                    + TextTokenizer.FILE_NAME + ")");
        }
        TextTokenizer tok = null;
        if (tokenizerFile != null) {
            tok = TextTokenizer.load(tokenizerFile);
            tok.requireFitsModel(vocab);
        }
        int[] prompt = promptText != null ? tok.encode(promptText) : parsePrompt(promptTokens, vocab);
        if (prompt.length == 0) {
            throw new IllegalArgumentException("--prompt: the tokenizer encodes it to no token");
        }
        Vocabulary vocabulary = readVocabulary(model);

        Decoder decoder = new Decoder(new HybridLm(checkpoint.config(), checkpoint.flatParameters(type)));
        int[] generated = new int[maxNew];
        Interruption.leaves("nothing was printed (generate prints the tokens once all " + maxNew + " are made)");
        LOG.info("generating {} tokens after a prompt of {}", maxNew, prompt.length);
        INDArray logits = decoder.prefill(new int[][] {prompt});
        for (int i = 0; i < maxNew; i++) {
            if (Interruption.requested()) {
                throw new InterruptedIOException("stopped after " + i + " of " + maxNew + " tokens");
            }
            generated[i] = sampler.next(logits, vocab);
            if (i + 1 < maxNew) {
                logits = decoder.step(new int[] {generated[i]});
            }
        }

        PrintWriter out = spec.commandLine().getOut();
        out.println("generated: "
                + IntStream.of(generated).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        if (tok != null) {
            out.println("text: " + tok.decode(generated));
        } else if (vocabulary != null && vocabulary.kind() == Vocabulary.Kind.BYTE) {
            out.println("text: " + byteText(generated, vocabulary));
        }
        out.flush();
        return 0;
    }

    /** The ids of "1,2,3", each checked against [0, vocab). */
    static int[] parsePrompt(String text, int vocab) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(
                    "--prompt-tokens: expected a comma-separated list of token ids but found" + " an empty value");
        }
        String[] items = text.split(",", -1);
        int[] ids = new int[items.length];
        for (int i = 0; i < items.length; i++) {
            String item = items[i].strip();
            try {
                ids[i] = Integer.parseInt(item);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "--prompt-tokens: item " + i + " '" + item + "' is not an integer token id");
            }
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("--prompt-tokens: item " + i + " = " + ids[i]
                        + " is outside the model's vocabulary [0, vocab_size = " + vocab + ")");
            }
        }
        return ids;
    }

    /** vocab.json beside the checkpoint, or null when there is none. */
    private static Vocabulary readVocabulary(Path dir) throws IOException {
        Path file = dir.resolve(Vocabulary.FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        return Vocabulary.fromJson(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * Byte ids 0..255 decoded as UTF-8 (a malformed sequence becomes U+FFFD); any other id is written as its
     * special-token name, or as {@code <id N>} when it has none.
     */
    static String byteText(int[] ids, Vocabulary vocabulary) {
        Map<Integer, String> names = vocabulary.specialTokens().entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getValue, Map.Entry::getKey, (a, b) -> a));
        StringBuilder text = new StringBuilder();
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 256) {
                run.write(id);
                continue;
            }
            text.append(run.toString(StandardCharsets.UTF_8));
            run.reset();
            text.append(names.getOrDefault(id, "<id " + id + ">"));
        }
        return text.append(run.toString(StandardCharsets.UTF_8)).toString();
    }
}
