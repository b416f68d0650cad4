package io.ssmspark.jobs.bench;

import java.util.Locale;

/**
 * The scoring cost model of one long sequence (docs/scaling.md, "Scoring at cluster scale"): measured constants in,
 * projected seconds and bytes out, for T tokens cut into segments of L tokens scored in waves of W tasks (one task
 * per executor). A pure function of its inputs; nothing here is timed.
 *
 * <p>Wall = waves × (compute + exchange + carry), no overlap: compute is L tokens through every layer; exchange is a
 * hub round per halo and per summary of every layer (hub latency + per-message cost + bytes at the loopback rate,
 * plus the busier direction of the driver's link at the network rate); carry is what a task does with the others'
 * summaries to keep its state.
 */
public final class ScoreProjection {
    /** How the tasks of a wave exchange. */
    public enum Design {
        /**
         * The design the prefix fold replaced, projected for comparison: every task sends one message per round and
         * receives all W (the driver sends W²), and every task folds all W summaries into its carry.
         */
        ALL_GATHER,
        /**
         * The built design ({@code WaveFold}): the driver folds the summaries itself and sends each task only its
         * exclusive prefix state and its predecessors' last halo rows (the driver receives W and sends W messages
         * per round).
         */
        PREFIX;

        String label() {
            return this == ALL_GATHER ? "all-gather (replaced)" : "prefix O(W)";
        }
    }

    /**
     * The run being projected.
     *
     * @param executors tasks per wave W, one per executor
     * @param tokens tokens of the sequence T
     * @param segment tokens per segment L
     * @param networkBytesPerSecond the driver's and each executor's link, each way; 0: loopback (no wire term)
     * @param localCores cores W tasks share in local mode (compute × max(1, W / cores)); 0: an executor per task
     */
    public record Setup(int executors, double tokens, int segment, double networkBytesPerSecond, int localCores) {
        public Setup {
            if (executors < 1 || !(tokens >= 2) || segment < 1 || networkBytesPerSecond < 0 || localCores < 0) {
                throw new IllegalArgumentException("score projection: expected executors >= 1, tokens >= 2, segment"
                        + " >= 1, network >= 0 and cores >= 0 but found " + executors + ", " + tokens + ", " + segment
                        + ", " + networkBytesPerSecond + ", " + localCores);
            }
        }

        double segments() {
            return Math.ceil(tokens / segment);
        }

        double waves() {
            return Math.ceil(segments() / executors);
        }
    }

    /** One projected run; seconds and bytes are per wave unless named total. */
    public record Run(
            Setup setup,
            Design design,
            double waves,
            double computeSeconds,
            double exchangeSeconds,
            double carrySeconds,
            double driverBytesSent,
            double driverBytesReceived,
            double messagesPerWave,
            double executorBytes,
            double carryBytes,
            boolean wholeSegmentHalos) {

        public double waveSeconds() {
            return computeSeconds + exchangeSeconds + carrySeconds;
        }

        public double wallSeconds() {
            return waves * waveSeconds();
        }

        public double exchangeShare() {
            return (exchangeSeconds + carrySeconds) / waveSeconds();
        }

        /** The driver's bytes (sent + received) per second of the run. */
        public double driverBytesPerSecond() {
            return (driverBytesSent + driverBytesReceived) / waveSeconds();
        }

        public JsonLine toJson() {
            return new JsonLine()
                    .put("bench", "score-projection")
                    .put("design", design.name().toLowerCase(Locale.ROOT))
                    .put("built", design == Design.PREFIX)
                    .put("executors", setup.executors())
                    .put("tokens", setup.tokens())
                    .put("segment", setup.segment())
                    .put("local_cores", setup.localCores())
                    .put("network_bytes_per_s", setup.networkBytesPerSecond())
                    .put("waves", waves)
                    .put("wall_s", wallSeconds())
                    .put("wave_s", waveSeconds())
                    .put("compute_s_per_wave", computeSeconds)
                    .put("exchange_s_per_wave", exchangeSeconds)
                    .put("carry_s_per_wave", carrySeconds)
                    .put("exchange_share", exchangeShare())
                    .put("driver_bytes_sent_per_wave", driverBytesSent)
                    .put("driver_bytes_received_per_wave", driverBytesReceived)
                    .put("driver_messages_per_wave", messagesPerWave)
                    .put("driver_bytes_per_s", driverBytesPerSecond())
                    .put("executor_bytes", executorBytes)
                    .put("carry_bytes", carryBytes)
                    .put("tokens_per_s", setup.tokens() / wallSeconds())
                    .put("halos_grow_with_sequence", wholeSegmentHalos);
        }
    }

    private final ScoreCosts costs;
    private final ScoreShape shape;

    public ScoreProjection(ScoreCosts costs, ScoreShape shape) {
        this.costs = costs;
        this.shape = shape;
    }

    public Run run(Setup s, Design design) {
        double w = s.executors();
        double compute = computeSeconds(s);
        double exchange = 0;
        double carry = 0;
        double sent = 0;
        double received = 0;
        double messages = 0;
        double carryBytes = 0;
        boolean wholeSegment = false;
        for (ScoreShape.Layer layer : shape.layers()) {
            wholeSegment |= layer.haloIsWholeSegment();
            // a segment's tail: its last min(haloRows, L) rows; what a segment reads: the last haloRows rows before it
            double tailRows = Math.min(layer.haloRows(), s.segment());
            double haloRows = Math.min(layer.haloRows(), s.tokens());
            long tail = ExchangeWire.message(layer.haloBlocks(), (long) tailRows * layer.haloBytesPerRow());
            long halo = ExchangeWire.message(layer.haloBlocks(), (long) haloRows * layer.haloBytesPerRow());
            long summary = ExchangeWire.message(layer.summaryBlocks(), layer.summaryBytes());
            long state = ExchangeWire.message(1, layer.stateBytes());
            carryBytes += haloRows * layer.haloBytesPerRow() + (layer.carriesState() ? layer.stateBytes() : 0);
            Round[] rounds = design == Design.ALL_GATHER
                    ? new Round[] {allGather(w, tail), layer.carriesState() ? allGather(w, summary) : Round.NONE}
                    : new Round[] {
                        forward(w, tail, halo), layer.carriesState() ? forward(w, summary, state) : Round.NONE
                    };
            for (Round r : rounds) {
                exchange += r.seconds(costs, s.networkBytesPerSecond());
                sent += r.sent;
                received += r.received;
                messages += r.messages;
            }
            if (layer.carriesState()) {
                // all-gather: every task folds all W summaries into its carry; prefix: the driver folds them once
                double folds = w * costs.passStateSeconds();
                if (design == Design.ALL_GATHER) {
                    carry += folds;
                } else {
                    exchange += folds;
                }
            }
        }
        double model = 8.0 * shape.parameters(); // the model and the plain copy it was built from (ModelBlob)
        // a task holds the segment's stream and its spare (2·L·d floats) and one layer's working set at a time
        double segment = (double) s.segment() * (8.0 * shape.dModel() + costs.workingBytesPerTokenLayer());
        return new Run(
                s,
                design,
                s.waves(),
                compute,
                exchange,
                carry,
                sent,
                received,
                messages,
                model + segment + (design == Design.ALL_GATHER ? carryBytes : 0),
                carryBytes,
                wholeSegment);
    }

    /**
     * The value bytes {@code ExchangeStats} counts per layer (up + down) over a run of one sequence with the prefix
     * fold: every segment but the last (which hands nothing on) sends its tail and summary; every segment i but the
     * first receives its halo, the last min(haloRows, i·L) rows before it, and its initial state:
     * total = (S − 1)·(tail + summary + state) + Σ_{i=1}^{S−1} min(haloRows, i·L)·bytesPerRow. Independent of W.
     */
    public long[] exchangedValueBytesPerLayer(Setup s) {
        long[] bytes = new long[shape.layerCount()];
        long segments = (long) s.segments();
        for (int l = 0; l < bytes.length; l++) {
            ScoreShape.Layer layer = shape.layers().get(l);
            long tail = (long) Math.min(layer.haloRows(), s.segment()) * layer.haloBytesPerRow();
            long state = layer.carriesState() ? layer.summaryBytes() + layer.stateBytes() : 0;
            long total = (segments - 1) * (tail + state);
            for (long i = 1; i < segments; i++) {
                total += Math.min(layer.haloRows(), i * s.segment()) * layer.haloBytesPerRow();
            }
            bytes[l] = total;
        }
        return bytes;
    }

    /**
     * The fewest executors (of 1, 2, 4, ... up to 2^20) at which the exchange and carry take half of each wave, for
     * {@code s}'s tokens and segment; 0 when none does. Past it, more executors mostly add exchange.
     */
    public int exchangeHalfAt(Setup s, Design design) {
        for (int w = 1; w <= 1 << 20; w *= 2) {
            Setup at = new Setup(w, s.tokens(), s.segment(), s.networkBytesPerSecond(), s.localCores());
            if (run(at, design).exchangeShare() >= 0.5) {
                return w;
            }
        }
        return 0;
    }

    /**
     * L tokens through every layer at the measured per-token costs; full attention's cost grows with its context
     * (the mean over the waves of the latest segment's, T/2 + W·L/2, against the measured L_m/2); local mode shares
     * the cores.
     */
    double computeSeconds(Setup s) {
        double attentionScale = 1;
        if (fullAttention()) {
            attentionScale =
                    (s.tokens() / 2 + (double) s.executors() * s.segment() / 2) / (costs.measuredTokens() / 2.0);
        }
        double perToken = shape.mambaLayers() * costs.mambaSecondsPerTokenLayer()
                + shape.attentionLayers() * costs.attentionSecondsPerTokenLayer() * attentionScale
                + shape.mlpLayers() * costs.mlpSecondsPerTokenLayer()
                + shape.layerCount() * costs.normSecondsPerTokenLayer()
                + costs.headSecondsPerToken();
        double shared = s.localCores() == 0 ? 1 : Math.max(1, (double) s.executors() / s.localCores());
        return perToken * s.segment() * shared;
    }

    private boolean fullAttention() {
        for (ScoreShape.Layer l : shape.layers()) {
            if (!l.carriesState() && l.haloIsWholeSegment()) {
                return true;
            }
        }
        return false;
    }

    /** One hub round as the driver sees it. */
    record Round(double messages, double sent, double received) {
        static final Round NONE = new Round(0, 0, 0);

        double seconds(ScoreCosts costs, double network) {
            if (messages == 0) {
                return 0;
            }
            double wire = network > 0 ? Math.max(sent, received) / network : 0;
            return costs.hubSeconds(messages, sent + received) + wire;
        }
    }

    /** All-gather: W messages of m up, W answers of W messages down. */
    static Round allGather(double w, long message) {
        return new Round(w + w * w, w * ExchangeWire.answer((long) w, message), w * ExchangeWire.up(message));
    }

    /** Prefix design: W messages of m up, one message of {@code down} bytes to each task. */
    static Round forward(double w, long up, long down) {
        return new Round(2 * w, w * ExchangeWire.answer(1, down), w * ExchangeWire.up(up));
    }
}
