package dev.vigil.server.quant;

import dev.vigil.probes.stats.QuantSnapshot;

import java.util.Locale;

/**
 * How a tensor's int8 clip value {@code c} is taken from its window statistics, as in
 * {@code vigil_quant_int8_sqnr_db{calibration}}: the window's abs max, or its 0.9999 abs percentile.
 */
public enum Calibration {
    /** {@code c} = the window's abs max. */
    ABSMAX,
    /** {@code c} = the window's 0.9999 percentile of {@code |x|}. */
    PERCENTILE;

    /** The query-parameter and metadata spelling. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The clip value of a tensor's window statistics; NaN when the window has no values there. */
    public double clip(QuantSnapshot q) {
        return this == ABSMAX ? q.absMax() : q.absP9999();
    }

    /**
     * Parses {@code absmax} or {@code percentile}; {@code fallback} when the parameter is absent.
     *
     * @throws IllegalArgumentException naming the unknown value
     */
    public static Calibration parse(String value, Calibration fallback) {
        if (value == null || value.isEmpty()) {
            return fallback;
        }
        for (Calibration c : values()) {
            if (c.label().equals(value)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown calibration '" + value + "'; use absmax or percentile");
    }
}
