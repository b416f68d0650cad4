package io.ssmspark.model.config;

/**
 * The SSM mixer settings ({@code ssm_cfg} in config.json). Only what ssm-spark supports can be
 * represented: a Mamba2 layer has no in/out projection bias, a conv bias, d_ssm = d_inner
 * and the default dt_limit; a Mamba1 layer uses the fields mamba_ssm's Mamba takes (d_state, d_conv, expand,
 * dt_rank, dt_min, dt_max, dt_init, dt_scale, dt_init_floor, conv_bias, bias). A RetNet layer keeps its settings in
 * {@link #retNet} and uses chunk_size only of the Mamba2 fields; an S4D layer (layer "S4D") uses d_state, dt_min,
 * dt_max, chunk_size and its own {@link S4dConfig}, its Mamba2-only fields held at their defaults (each layer's own
 * settings are null for any other layer). Init-only and speed-only settings (dt_min, dt_max, dt_init_floor,
 * A_init_range, conv_init, use_mem_eff_path; for Mamba1 also dt_init, dt_scale, use_fast_path) are kept so a fresh
 * model can be initialised the way mamba_ssm would. {@link #builder()} starts from mamba_ssm's Mamba2 defaults,
 * {@link #mamba1Builder()} from its Mamba (Mamba1) defaults.
 */
public record SsmConfig(
        String layer,
        int dState,
        int dConv,
        int expand,
        int headdim,
        int ngroups,
        int chunkSize,
        boolean dHasHdim,
        boolean rmsnorm,
        boolean normBeforeGate,
        double dtMin,
        double dtMax,
        double dtInitFloor,
        double aInitMin,
        double aInitMax,
        Double convInit,
        boolean useMemEffPath,
        // Mamba1 (mamba_ssm's Mamba.__init__, modules/mamba_simple.py); conv_bias and bias are Mamba2's too
        Integer dtRank,
        String dtInit,
        double dtScale,
        boolean convBias,
        boolean bias,
        boolean useFastPath,
        RetNetConfig retNet,
        S4dConfig s4d) {

    public static final SsmConfig DEFAULTS = builder().build();

    /** ssm_cfg.layer of mamba_ssm's Mamba (Mamba1) layer, which mamba_ssm builds when ssm_cfg names no layer. */
    public static final String MAMBA1 = "Mamba1";
    /** ssm_cfg.layer of mamba_ssm's Mamba2 layer. */
    public static final String MAMBA2 = "Mamba2";
    /** mamba_ssm's Mamba defaults (d_state 16, d_conv 4, expand 2, dt_rank "auto", dt_init "random", ...). */
    public static final SsmConfig MAMBA1_DEFAULTS = mamba1Builder().build();

    public SsmConfig {
        if (layer == null || layer.isBlank()) {
            throw new IllegalArgumentException(
                    "ssm_cfg.layer must name a layer, found " + (layer == null ? "null" : "\"\""));
        }
        // S4D: its own settings, and the Mamba2-only fields at their defaults (they do not apply), so that two S4D
        // configs are equal exactly when they mean the same layer and config.json round-trips.
        if (S4dConfig.LAYER.equals(layer)) {
            if (s4d == null) {
                throw new IllegalArgumentException("ssm_cfg: an S4D layer needs its S4D settings (init)");
            }
            s4d.check(dState);
            Builder m = new Builder();
            dConv = m.dConv;
            expand = m.expand;
            headdim = m.headdim;
            ngroups = m.ngroups;
            dHasHdim = m.dHasHdim;
            rmsnorm = m.rmsnorm;
            normBeforeGate = m.normBeforeGate;
            dtInitFloor = m.dtInitFloor;
            aInitMin = m.aInitMin;
            aInitMax = m.aInitMax;
            convInit = m.convInit;
            useMemEffPath = m.useMemEffPath;
        } else if (s4d != null) {
            throw new IllegalArgumentException("ssm_cfg: S4D settings given for layer \"" + layer + "\"");
        }
        requireAtLeast("ssm_cfg.d_state", dState, 1);
        requireAtLeast("ssm_cfg.d_conv", dConv, 1);
        requireAtLeast("ssm_cfg.expand", expand, 1);
        requireAtLeast("ssm_cfg.headdim", headdim, 1);
        requireAtLeast("ssm_cfg.ngroups", ngroups, 1);
        requireAtLeast("ssm_cfg.chunk_size", chunkSize, 1);
        if (!(dtMin > 0) || !Double.isFinite(dtMin)) {
            throw new IllegalArgumentException("ssm_cfg.dt_min must be a finite number > 0, found " + dtMin);
        }
        if (!(dtMax >= dtMin) || !Double.isFinite(dtMax)) {
            throw new IllegalArgumentException(
                    "ssm_cfg.dt_max must be finite and >= dt_min = " + dtMin + ", found " + dtMax);
        }
        if (!(dtInitFloor >= 0) || !Double.isFinite(dtInitFloor)) {
            throw new IllegalArgumentException(
                    "ssm_cfg.dt_init_floor must be a finite number >= 0, found " + dtInitFloor);
        }
        // A is drawn uniformly from A_init_range and stored as A_log = log(A), so the range must be positive.
        if (!(aInitMin > 0) || !(aInitMax >= aInitMin) || !Double.isFinite(aInitMax)) {
            throw new IllegalArgumentException("ssm_cfg.A_init_range must be [lo, hi] with 0 < lo <= hi, found ["
                    + aInitMin + ", " + aInitMax + "]");
        }
        if (convInit != null && (!(convInit > 0) || !Double.isFinite(convInit))) {
            throw new IllegalArgumentException(
                    "ssm_cfg.conv_init must be null or a finite number > 0, found " + convInit);
        }
        checkRetNet(layer, retNet);
        checkMamba1(dtRank, dtInit, dtScale);
    }

    /** A RetNet layer has its settings, and only a RetNet layer has them. */
    private static void checkRetNet(String layer, RetNetConfig retNet) {
        boolean isRetNet = RetNetConfig.LAYER.equals(layer);
        if (isRetNet && retNet == null) {
            throw new IllegalArgumentException(
                    "ssm_cfg: layer \"" + layer + "\" needs its retention settings" + " (ssm_cfg.num_heads)");
        }
        if (!isRetNet && retNet != null) {
            throw new IllegalArgumentException("ssm_cfg: retention settings are given but ssm_cfg.layer is \"" + layer
                    + "\", not \"" + RetNetConfig.LAYER + "\"");
        }
    }

    private static void checkMamba1(Integer dtRank, String dtInit, double dtScale) {
        if (dtRank != null) {
            requireAtLeast("ssm_cfg.dt_rank", dtRank, 1);
        }
        if (!"random".equals(dtInit) && !"constant".equals(dtInit)) {
            throw new IllegalArgumentException("ssm_cfg.dt_init must be \"random\" or \"constant\", found "
                    + (dtInit == null ? "null" : "\"" + dtInit + "\""));
        }
        if (!(dtScale >= 0) || !Double.isFinite(dtScale)) {
            throw new IllegalArgumentException("ssm_cfg.dt_scale must be a finite number >= 0, found " + dtScale);
        }
    }

    /** Whether this is mamba_ssm's Mamba (Mamba1) layer. */
    public boolean isMamba1() {
        return MAMBA1.equals(layer);
    }

    /** Mamba1's dt_rank: the configured one, or "auto" = ⌈d_model / 16⌉ (mamba_ssm's Mamba.__init__). */
    public int dtRankFor(int dModel) {
        return dtRank != null ? dtRank : (dModel + 15) / 16;
    }

    static void requireAtLeast(String field, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(field + " must be >= " + min + ", found " + value);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .layer(layer)
                .dState(dState)
                .dConv(dConv)
                .expand(expand)
                .headdim(headdim)
                .ngroups(ngroups)
                .chunkSize(chunkSize)
                .dHasHdim(dHasHdim)
                .rmsnorm(rmsnorm)
                .normBeforeGate(normBeforeGate)
                .dtMin(dtMin)
                .dtMax(dtMax)
                .dtInitFloor(dtInitFloor)
                .aInitRange(aInitMin, aInitMax)
                .convInit(convInit)
                .useMemEffPath(useMemEffPath)
                .dtRank(dtRank)
                .dtInit(dtInit)
                .dtScale(dtScale)
                .convBias(convBias)
                .bias(bias)
                .useFastPath(useFastPath)
                .retNet(retNet)
                .s4d(s4d);
    }

    /** Builder starting from mamba_ssm's Mamba (Mamba1) defaults: layer "Mamba1", d_state 16. */
    public static Builder mamba1Builder() {
        return new Builder().layer(MAMBA1).dState(16);
    }

    /** Builder starting from mamba_ssm's Mamba2 defaults. */
    public static final class Builder {
        private String layer = "Mamba2";
        private int dState = 128;
        private int dConv = 4;
        private int expand = 2;
        private int headdim = 64;
        private int ngroups = 1;
        private int chunkSize = 256;
        private boolean dHasHdim = false;
        private boolean rmsnorm = true;
        private boolean normBeforeGate = false;
        private double dtMin = 0.001;
        private double dtMax = 0.1;
        private double dtInitFloor = 1e-4;
        private double aInitMin = 1;
        private double aInitMax = 16;
        private Double convInit = null;
        private boolean useMemEffPath = true;
        private Integer dtRank = null; // "auto"
        private String dtInit = "random";
        private double dtScale = 1.0;
        private boolean convBias = true;
        private boolean bias = false;
        private boolean useFastPath = true;
        private RetNetConfig retNet = null;
        private S4dConfig s4d = null;

        private Builder() {}

        public Builder layer(String v) {
            layer = v;
            return this;
        }

        public Builder dState(int v) {
            dState = v;
            return this;
        }

        public Builder dConv(int v) {
            dConv = v;
            return this;
        }

        public Builder expand(int v) {
            expand = v;
            return this;
        }

        public Builder headdim(int v) {
            headdim = v;
            return this;
        }

        public Builder ngroups(int v) {
            ngroups = v;
            return this;
        }

        public Builder chunkSize(int v) {
            chunkSize = v;
            return this;
        }

        public Builder dHasHdim(boolean v) {
            dHasHdim = v;
            return this;
        }

        public Builder rmsnorm(boolean v) {
            rmsnorm = v;
            return this;
        }

        public Builder normBeforeGate(boolean v) {
            normBeforeGate = v;
            return this;
        }

        public Builder dtMin(double v) {
            dtMin = v;
            return this;
        }

        public Builder dtMax(double v) {
            dtMax = v;
            return this;
        }

        public Builder dtInitFloor(double v) {
            dtInitFloor = v;
            return this;
        }

        public Builder aInitRange(double lo, double hi) {
            aInitMin = lo;
            aInitMax = hi;
            return this;
        }

        public Builder convInit(Double v) {
            convInit = v;
            return this;
        }

        public Builder useMemEffPath(boolean v) {
            useMemEffPath = v;
            return this;
        }
        /** Mamba1's dt_rank; null is "auto". */
        public Builder dtRank(Integer v) {
            dtRank = v;
            return this;
        }

        public Builder dtInit(String v) {
            dtInit = v;
            return this;
        }

        public Builder dtScale(double v) {
            dtScale = v;
            return this;
        }

        public Builder convBias(boolean v) {
            convBias = v;
            return this;
        }

        public Builder bias(boolean v) {
            bias = v;
            return this;
        }

        public Builder useFastPath(boolean v) {
            useFastPath = v;
            return this;
        }

        /** S4D's own settings; an S4D layer without them gets {@link S4dConfig#DEFAULTS}. */
        public Builder s4d(S4dConfig v) {
            s4d = v;
            return this;
        }

        /** A RetNet layer: sets layer "RetNet" and its settings (the Mamba2 fields are then unused). */
        public Builder retNet(RetNetConfig v) {
            retNet = v;
            if (v != null) {
                layer = RetNetConfig.LAYER;
            }
            return this;
        }

        public SsmConfig build() {
            return new SsmConfig(
                    layer,
                    dState,
                    dConv,
                    expand,
                    headdim,
                    ngroups,
                    chunkSize,
                    dHasHdim,
                    rmsnorm,
                    normBeforeGate,
                    dtMin,
                    dtMax,
                    dtInitFloor,
                    aInitMin,
                    aInitMax,
                    convInit,
                    useMemEffPath,
                    dtRank,
                    dtInit,
                    dtScale,
                    convBias,
                    bias,
                    useFastPath,
                    retNet,
                    s4d == null && S4dConfig.LAYER.equals(layer) ? S4dConfig.DEFAULTS : s4d);
        }
    }
}
