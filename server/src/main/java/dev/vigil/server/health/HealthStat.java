package dev.vigil.server.health;

import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.AttentionSnapshot;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.QuantSnapshot;
import dev.vigil.probes.stats.SiteSnapshot;

import java.util.List;

/**
 * A statistic of the health view: its JSON key and how it is read from a site's snapshot. Every value is one
 * {@code /metrics} gauge of the same site, except the two head means, which average that site's per-head series.
 * NaN when the site has no value (no data yet, or a gauge {@code /metrics} leaves out).
 */
enum HealthStat {
    /** {@code vigil_neurons_dead_ratio}. */
    DEAD_RATIO("dead_ratio") {
        @Override
        double of(SiteSnapshot s) {
            return s.dead() == null ? Double.NaN : s.dead().deadRatio();
        }

        /** Its alert compares with the site's own last hour; one window can only show the sick range (near 1). */
        @Override
        HealthLevel level(SiteSnapshot s, ProbeSettings settings) {
            return above(of(s), DEAD_WARN, HealthLevel.WARN);
        }
    },
    /** {@code vigil_neurons_dormant_ratio}. */
    DORMANT_RATIO("dormant_ratio") {
        @Override
        double of(SiteSnapshot s) {
            return s.dead() == null ? Double.NaN : s.dead().dormantRatio();
        }

        @Override
        HealthLevel level(SiteSnapshot s, ProbeSettings settings) {
            return above(of(s), DORMANT_WARN, HealthLevel.WARN);
        }
    },
    /** {@code vigil_massive_activation_ratio}. */
    MASSIVE_RATIO("massive_ratio") {
        @Override
        double of(SiteSnapshot s) {
            return s.massive() == null ? Double.NaN : s.massive().ratio();
        }

        /**
         * Alarm when the window has massive elements (|h| above both of the model's thresholds), what
         * VigilMassiveActivationAppeared counts; warn when the ratio passes {@code median_ratio} on small values.
         */
        @Override
        HealthLevel level(SiteSnapshot s, ProbeSettings settings) {
            double v = of(s);
            if (Double.isNaN(v)) {
                return HealthLevel.NONE;
            }
            if (s.massive().windowCount() > 0) {
                return HealthLevel.ALARM;
            }
            return v > settings.massiveMedianRatio() ? HealthLevel.WARN : HealthLevel.OK;
        }
    },
    /** {@code vigil_attention_sink_heads_ratio}. */
    SINK_HEADS_RATIO("sink_heads_ratio") {
        @Override
        double of(SiteSnapshot s) {
            return s.attention() == null ? Double.NaN : s.attention().sinkHeadsRatio();
        }
    },
    /** Unweighted mean over heads of {@code vigil_attention_sink_score{head}}. */
    SINK_SCORE_MEAN("sink_score_mean") {
        @Override
        double of(SiteSnapshot s) {
            AttentionSnapshot a = s.attention();
            return a == null ? Double.NaN : mean(a.sinkScore());
        }
    },
    /** Unweighted mean over heads of {@code vigil_attention_entropy{head}}. */
    ENTROPY_MEAN("entropy_mean") {
        @Override
        double of(SiteSnapshot s) {
            AttentionSnapshot a = s.attention();
            return a == null ? Double.NaN : mean(a.entropy());
        }
    },
    /** {@code vigil_token_cosine_similarity}. */
    TOKEN_COSINE("token_cosine") {
        @Override
        double of(SiteSnapshot s) {
            return s.cosine() == null ? Double.NaN : s.cosine().cosineSimilarity();
        }

        @Override
        HealthLevel level(SiteSnapshot s, ProbeSettings settings) {
            return above(of(s), COSINE_WARN, HealthLevel.WARN);
        }
    },
    /** {@code vigil_quant_int8_sqnr_db{calibration="absmax"}}. */
    INT8_SQNR_DB("int8_sqnr_db") {
        @Override
        double of(SiteSnapshot s) {
            QuantSnapshot q = quant(s);
            return q == null ? Double.NaN : q.sqnrAbsMaxDb();
        }

        /** VigilInt8SqnrLow: below 20 dB on a {@code matmul_input} site, the tensors static int8 quantizes. */
        @Override
        HealthLevel level(SiteSnapshot s, ProbeSettings settings) {
            double v = of(s);
            return onMatmulInput(s, v, v < SQNR_ALARM_DB);
        }
    },
    /** {@code vigil_quant_outlier_channels}. */
    OUTLIER_CHANNELS("outlier_channels") {
        @Override
        double of(SiteSnapshot s) {
            QuantSnapshot q = quant(s);
            return q == null ? Double.NaN : q.outlierChannels();
        }

        /** VigilInt8OutlierChannels: any outlier channel on a {@code matmul_input} site. */
        @Override
        HealthLevel level(SiteSnapshot s, ProbeSettings settings) {
            double v = of(s);
            return onMatmulInput(s, v, v > 0);
        }
    };

    /** VigilInt8SqnrLow's threshold. */
    static final double SQNR_ALARM_DB = 20;
    /** docs/PROBES.md, sick: dead ratio "near 1"; half the channels is well on the way. */
    static final double DEAD_WARN = 0.5;
    /** docs/PROBES.md, sick: dormant ratio "> a few %". */
    static final double DORMANT_WARN = 0.05;
    /** docs/PROBES.md, sick: token cosine "-> 1" (rank collapse). */
    static final double COSINE_WARN = 0.9;

    private final String key;

    HealthStat(String key) {
        this.key = key;
    }

    /** Whether the value is a count, written as a JSON integer. */
    boolean count() {
        return this == OUTLIER_CHANNELS;
    }

    /** The JSON key and the page's {@code data-stat}. */
    String key() {
        return key;
    }

    /** The value at this site; NaN when undefined. */
    abstract double of(SiteSnapshot s);

    /** How the value at this site reads; {@link HealthLevel#INFO} for a statistic with no healthy direction. */
    HealthLevel level(SiteSnapshot s, ProbeSettings settings) {
        return Double.isNaN(of(s)) ? HealthLevel.NONE : HealthLevel.INFO;
    }

    /** {@code sick} at or above {@code threshold}, else OK; NONE for NaN. */
    private static HealthLevel above(double v, double threshold, HealthLevel sick) {
        if (Double.isNaN(v)) {
            return HealthLevel.NONE;
        }
        return v >= threshold ? sick : HealthLevel.OK;
    }

    /** The statistics shown for a kind of site, in column order. */
    static List<HealthStat> forKind(SiteKind kind) {
        return switch (kind) {
            case ATTENTION -> List.of(SINK_HEADS_RATIO, SINK_SCORE_MEAN, ENTROPY_MEAN);
            case MLP -> List.of(DEAD_RATIO, DORMANT_RATIO, INT8_SQNR_DB, OUTLIER_CHANNELS);
            case RESIDUAL -> List.of(MASSIVE_RATIO, TOKEN_COSINE, INT8_SQNR_DB, OUTLIER_CHANNELS);
            case MATMUL_INPUT -> List.of(INT8_SQNR_DB, OUTLIER_CHANNELS);
        };
    }

    /** The quantization ranges, or null before the window has a value ({@code /metrics} then has none either). */
    /**
     * The level of an int8 statistic, judged only where static int8 quantizes (a {@code matmul_input} site):
     * elsewhere it is information.
     */
    private static HealthLevel onMatmulInput(SiteSnapshot s, double v, boolean alarming) {
        if (Double.isNaN(v)) {
            return HealthLevel.NONE;
        }
        if (s.site().kind() != SiteKind.MATMUL_INPUT) {
            return HealthLevel.INFO;
        }
        return alarming ? HealthLevel.ALARM : HealthLevel.OK;
    }

    private static QuantSnapshot quant(SiteSnapshot s) {
        QuantSnapshot q = s.quant();
        return q == null || q.count() == 0 ? null : q;
    }

    private static double mean(List<Double> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double sum = 0;
        for (Double v : values) {
            sum += v;
        }
        return sum / values.size();
    }
}
