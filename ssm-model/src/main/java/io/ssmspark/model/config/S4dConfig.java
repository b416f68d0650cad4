package io.ssmspark.model.config;

import java.util.Arrays;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The settings of an S4D layer ({@code ssm_cfg.layer: "S4D"}, Gu et al., "On the Parameterization and Initialization
 * of Diagonal State Space Models") that {@link SsmConfig} has no field for: how A is initialised, which also fixes
 * whether the modes are complex conjugate pairs or real. The state size N is {@code ssm_cfg.d_state}, the Δ range
 * {@code dt_min}/{@code dt_max}, and the kernel block length {@code chunk_size}.
 */
public record S4dConfig(Init init) {

    /** ssm_cfg.layer of the S4D layer (a name of ours: mamba_ssm has no such layer). */
    public static final String LAYER = "S4D";

    /** S4D's default: S4D-Lin, as state-spaces' minimal s4d.py. */
    public static final S4dConfig DEFAULTS = new S4dConfig(Init.LIN);

    /** The initialisations of the diagonal A, by their names in ssm_cfg.init. */
    public enum Init {
        /** S4D-Lin: A_n = −1/2 + iπn, n &lt; N/2 (complex conjugate pairs). */
        LIN("lin", true),
        /** S4D-Inv: A_n = −1/2 + i(N/π)(N/(2n+1) − 1), n &lt; N/2 (complex conjugate pairs). */
        INV("inv", true),
        /** S4D-Real: A_n = −(n+1), n &lt; N (real modes). */
        REAL("real", false),
        /** The diagonal of the HiPPO-LegS matrix, −(n+1), n &lt; N (real modes; numerically S4D-Real). */
        LEGS("legs", false);

        private final String jsonName;
        private final boolean complex;

        Init(String jsonName, boolean complex) {
            this.jsonName = jsonName;
            this.complex = complex;
        }

        /** The name in config.json. */
        public String jsonName() {
            return jsonName;
        }

        /** Whether the modes are complex conjugate pairs (else real). */
        public boolean complex() {
            return complex;
        }

        /** The init named {@code name} in config.json; IllegalArgumentException lists the names. */
        public static Init of(String name) {
            for (Init i : values()) {
                if (i.jsonName.equals(name)) {
                    return i;
                }
            }
            throw new IllegalArgumentException(
                    "ssm_cfg.init = \"" + name + "\" is not an S4D initialisation; expected " + "one of " + names());
        }

        /** The names in config.json, quoted: "lin", "inv", "real", "legs". */
        public static String names() {
            return Arrays.stream(values()).map(i -> "\"" + i.jsonName + "\"").collect(Collectors.joining(", "));
        }
    }

    public S4dConfig {
        Objects.requireNonNull(init, "ssm_cfg.init");
    }

    /** Whether the modes are complex conjugate pairs (each stands for two of the N states). */
    public boolean complex() {
        return init.complex();
    }

    /** The modes one channel holds: N/2 complex conjugate pairs, or N real modes. */
    public int modes(int dState) {
        return complex() ? dState / 2 : dState;
    }

    /** Checks d_state against the init: conjugate pairs need an even N. */
    void check(int dState) {
        if (complex() && dState % 2 != 0) {
            throw new IllegalArgumentException("ssm_cfg.d_state must be even for the S4D init \"" + init.jsonName()
                    + "\" (N/2 complex conjugate pairs), found " + dState);
        }
    }
}
