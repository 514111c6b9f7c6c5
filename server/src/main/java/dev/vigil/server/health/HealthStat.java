package dev.vigil.server.health;

import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.AttentionSnapshot;
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
    },
    /** {@code vigil_neurons_dormant_ratio}. */
    DORMANT_RATIO("dormant_ratio") {
        @Override
        double of(SiteSnapshot s) {
            return s.dead() == null ? Double.NaN : s.dead().dormantRatio();
        }
    },
    /** {@code vigil_massive_activation_ratio}. */
    MASSIVE_RATIO("massive_ratio") {
        @Override
        double of(SiteSnapshot s) {
            return s.massive() == null ? Double.NaN : s.massive().ratio();
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
    },
    /** {@code vigil_quant_int8_sqnr_db{calibration="absmax"}}. */
    INT8_SQNR_DB("int8_sqnr_db") {
        @Override
        double of(SiteSnapshot s) {
            QuantSnapshot q = quant(s);
            return q == null ? Double.NaN : q.sqnrAbsMaxDb();
        }
    },
    /** {@code vigil_quant_outlier_channels}. */
    OUTLIER_CHANNELS("outlier_channels") {
        @Override
        double of(SiteSnapshot s) {
            QuantSnapshot q = quant(s);
            return q == null ? Double.NaN : q.outlierChannels();
        }
    };

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
