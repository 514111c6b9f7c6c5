package dev.vigil.server.probe;

import dev.vigil.probes.stats.AbsValueBuckets;
import dev.vigil.probes.stats.AttentionCounters;
import dev.vigil.probes.stats.AttentionSnapshot;
import dev.vigil.probes.stats.CosineCounters;
import dev.vigil.probes.stats.DeadNeuronSnapshot;
import dev.vigil.probes.stats.MassiveSnapshot;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.QuantCounters;
import dev.vigil.probes.stats.QuantSnapshot;
import dev.vigil.probes.stats.ShadowSnapshot;
import dev.vigil.probes.stats.SiteCounters;
import dev.vigil.probes.stats.SiteSnapshot;
import dev.vigil.server.shadow.ShadowModel;
import dev.vigil.server.shadow.ShadowedModel;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.NativeHistogramBuckets;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The probe metrics of SPEC §5 and the fleet counters of SPEC §6, read from every model's published
 * {@code ProbeSnapshot} at scrape time (the worker never touches Prometheus objects). Undefined gauge values (NaN) are
 * left out rather than exported; counters are always exported, at 0 from model load (per-head attention counters
 * from the request that shows the head count, unless the graph declares it). {@code vigil_quant_abs_value} is a
 * native histogram (fixed schema, positive buckets only): the protobuf exposition carries its buckets, the text
 * formats only its count and sum.
 */
final class ProbeMetrics implements MultiCollector {
    /**
     * Every metric family {@link #collect} may export (counters without {@code _total}): a scrape filtered on other
     * names (such as one polling {@code vigil_probe_duration_seconds}) skips this collector, and with it every model's
     * snapshot, instead of building all the families and dropping them.
     */
    static final List<String> NAMES = List.of(
            "vigil_probe_requests", "vigil_probe_dropped", "vigil_window_tokens", "vigil_probe_sink_epsilon",
            "vigil_shadow_requests", "vigil_shadow_skipped", "vigil_shadow_model_window", "vigil_shadow_nonfinite",
            "vigil_shadow_site_sqnr_db", "vigil_shadow_signal_energy", "vigil_shadow_error_energy",
            "vigil_shadow_output_cosine", "vigil_shadow_top1_agreement", "vigil_shadow_output_cosine_distance_sum",
            "vigil_shadow_output_rows", "vigil_neurons_dead_ratio", "vigil_neurons_dormant_ratio", "vigil_neurons",
            "vigil_massive_activations", "vigil_massive_activation_ratio", "vigil_massive_first_token_fraction",
            "vigil_massive_channel_hits", "vigil_attention_sink_score", "vigil_attention_sink_heads_ratio",
            "vigil_attention_entropy", "vigil_attention_max_key_mass", "vigil_token_cosine_similarity",
            "vigil_quant_min", "vigil_quant_max", "vigil_quant_abs_max", "vigil_quant_abs_percentile",
            "vigil_quant_kurtosis", "vigil_quant_int8_sqnr_db", "vigil_quant_outlier_channels",
            "vigil_attention_sink_mass", "vigil_attention_queries", "vigil_attention_entropy_sum",
            "vigil_attention_entropy_queries", "vigil_attention_nonfinite_queries", "vigil_token_cosine_shifted_sum",
            "vigil_token_cosine_sequences", "vigil_token_cosine_nonfinite_sequences", "vigil_massive_first_token",
            "vigil_quant_values", "vigil_quant_nonfinite_values", "vigil_quant_sum", "vigil_quant_sum_squares",
            "vigil_quant_sum_cubes", "vigil_quant_sum_fourth_powers", "vigil_quant_abs_value");

    private final Supplier<Collection<ProbedModel>> models;

    ProbeMetrics(Supplier<Collection<ProbedModel>> models) {
        this.models = models;
    }

    /** Data points per metric name, in first-use order, with each family's type and help. */
    private static final class Families {
        private final Map<String, GaugeSnapshot.Builder> gauges = new LinkedHashMap<>();
        private final Map<String, List<GaugeDataPointSnapshot>> gaugePoints = new LinkedHashMap<>();
        private final Map<String, CounterSnapshot.Builder> counters = new LinkedHashMap<>();
        private final Map<String, List<CounterDataPointSnapshot>> counterPoints = new LinkedHashMap<>();
        private final Map<String, HistogramSnapshot.Builder> histograms = new LinkedHashMap<>();
        private final Map<String, List<HistogramDataPointSnapshot>> histogramPoints = new LinkedHashMap<>();

        void gauge(String name, String help, Labels labels, double value) {
            if (Double.isNaN(value)) {
                return;
            }
            gauges.computeIfAbsent(name, n -> GaugeSnapshot.builder().name(n).help(help));
            gaugePoints.computeIfAbsent(name, n -> new ArrayList<>())
                    .add(GaugeDataPointSnapshot.builder().labels(labels).value(value).build());
        }

        /** A counter; {@code name} without the {@code _total} suffix, which the exposition appends. */
        void counter(String name, String help, Labels labels, double value) {
            counters.computeIfAbsent(name, n -> CounterSnapshot.builder().name(n).help(help));
            counterPoints.computeIfAbsent(name, n -> new ArrayList<>())
                    .add(CounterDataPointSnapshot.builder().labels(labels).value(value).build());
        }

        void histogram(String name, String help, HistogramDataPointSnapshot point) {
            histograms.computeIfAbsent(name, n -> HistogramSnapshot.builder().name(n).help(help));
            histogramPoints.computeIfAbsent(name, n -> new ArrayList<>()).add(point);
        }

        MetricSnapshots build() {
            MetricSnapshots.Builder out = MetricSnapshots.builder();
            for (Map.Entry<String, GaugeSnapshot.Builder> e : gauges.entrySet()) {
                GaugeSnapshot.Builder b = e.getValue();
                gaugePoints.get(e.getKey()).forEach(b::dataPoint);
                out.metricSnapshot(b.build());
            }
            for (Map.Entry<String, CounterSnapshot.Builder> e : counters.entrySet()) {
                CounterSnapshot.Builder b = e.getValue();
                counterPoints.get(e.getKey()).forEach(b::dataPoint);
                out.metricSnapshot(b.build());
            }
            for (Map.Entry<String, HistogramSnapshot.Builder> e : histograms.entrySet()) {
                HistogramSnapshot.Builder b = e.getValue();
                histogramPoints.get(e.getKey()).forEach(b::dataPoint);
                out.metricSnapshot(b.build());
            }
            return out.build();
        }
    }

    @Override
    public List<String> getPrometheusNames() {
        return NAMES;
    }

    @Override
    public MetricSnapshots collect() {
        Families f = new Families();
        for (ProbedModel model : models.get()) {
            if (model.probe() == null) {
                continue;
            }
            ProbeSnapshot snap = model.probe().snapshot();
            Labels m = Labels.of("model", model.name());
            f.counter("vigil_probe_requests", "Probed requests added to the statistics", m, snap.probedRequests());
            f.counter("vigil_probe_dropped", "Sampled requests not probed: the probe queue or the tap buffer memory stayed full for the wait", m,
                    model.dropped());
            f.gauge("vigil_window_tokens", "Unmasked tokens in the current open statistics window", m,
                    model.probe().openWindowTokens());
            f.gauge("vigil_probe_sink_epsilon", "A head is a sink head when its sink score is > this", m,
                    model.settings().sinkEpsilon());
            for (SiteSnapshot s : snap.sites()) {
                site(f, model.name(), s);
            }
            if (model.shadow() != null) {
                shadow(f, m, model.shadow());
            }
        }
        return f.build();
    }

    /** The shadow int8 gauges and counters of one model (every counter from model load). */
    private static void shadow(Families f, Labels m, ShadowedModel model) {
        f.counter("vigil_shadow_requests", "Probed requests run through the shadow int8 model", m, model.shadowed());
        f.counter("vigil_shadow_skipped", "Requests sampled for the shadow int8 model but skipped: the machine was busy",
                m, model.skipped());
        ShadowModel running = model.current();
        if (running != null) {
            f.gauge("vigil_shadow_model_window", "The window the running shadow int8 model was calibrated on", m,
                    running.window());
        }
        ShadowSnapshot snap = model.stats().snapshot();
        f.counter("vigil_shadow_nonfinite", "Shadow site values and output rows left out: not finite", m,
                snap.nonFinite());
        for (ShadowSnapshot.Site s : snap.sites()) {
            Labels l = m.add("kind", s.site().kind().label()).add("layer", Integer.toString(s.site().layer()))
                    .add("tensor", s.site().tensor());
            f.gauge("vigil_shadow_site_sqnr_db", "Measured int8 SQNR in dB of the quantized model's MatMul input "
                    + "(own rounding plus propagated error) since the shadow model was built", l, s.sqnrDb());
            f.counter("vigil_shadow_signal_energy", "Sum of x^2 of the float site tensor over shadowed requests", l,
                    s.signalTotal());
            f.counter("vigil_shadow_error_energy", "Sum of (x - x_q)^2, x_q the quantized model's MatMul input, over "
                    + "shadowed requests", l, s.errorTotal());
        }
        for (ShadowSnapshot.Output o : snap.outputs()) {
            Labels l = m.add("output", o.output());
            f.gauge("vigil_shadow_output_cosine", "Mean cosine of float and int8 output rows since the shadow model "
                    + "was built", l, o.cosine());
            f.gauge("vigil_shadow_top1_agreement", "Fraction of output rows whose argmax agrees, float vs int8, since "
                    + "the shadow model was built", l, o.top1Agreement());
            f.counter("vigil_shadow_output_cosine_distance_sum", "Sum over shadowed output rows of 1 - cosine", l,
                    o.distanceTotal());
            f.counter("vigil_shadow_output_rows", "Shadowed output rows compared", l, o.rowsTotal());
        }
    }

    private static void site(Families f, String model, SiteSnapshot s) {
        Labels l = Labels.of("model", model, "kind", s.site().kind().label(), "layer",
                Integer.toString(s.site().layer()), "tensor", s.site().tensor());
        DeadNeuronSnapshot d = s.dead();
        if (d != null) {
            f.gauge("vigil_neurons_dead_ratio", "Fraction of channels never > 0 in the window", l, d.deadRatio());
            f.gauge("vigil_neurons_dormant_ratio", "Fraction of channels with tau-dormant score <= dormant_tau", l,
                    d.dormantRatio());
            if (d.neurons() > 0) {
                f.gauge("vigil_neurons", "Channels at the site", l, d.neurons());
            }
        }
        MassiveSnapshot ma = s.massive();
        if (ma != null) {
            f.counter("vigil_massive_activations", "Massive activation elements since start", l, ma.total());
            f.gauge("vigil_massive_activation_ratio", "Max over the window's sequences of max|h| / median|h|", l,
                    ma.ratio());
            f.gauge("vigil_massive_first_token_fraction",
                    "Fraction of the window's massive elements at the first unmasked position", l,
                    ma.firstTokenFraction());
            for (Map.Entry<String, Long> e : ma.channelHits().entrySet()) {
                f.counter("vigil_massive_channel_hits", "Massive elements per channel since start",
                        l.add("channel", e.getKey()), e.getValue());
            }
        }
        AttentionSnapshot a = s.attention();
        if (a != null) {
            for (int h = 0; h < a.sinkScore().size(); h++) {
                f.gauge("vigil_attention_sink_score", "Mean attention probability on the first unmasked key",
                        l.add("head", Integer.toString(h)), a.sinkScore().get(h));
            }
            f.gauge("vigil_attention_sink_heads_ratio", "Fraction of heads whose sink score > epsilon", l,
                    a.sinkHeadsRatio());
            for (int h = 0; h < a.entropy().size(); h++) {
                f.gauge("vigil_attention_entropy", "Mean normalized attention entropy per query",
                        l.add("head", Integer.toString(h)), a.entropy().get(h));
            }
            f.gauge("vigil_attention_max_key_mass", "Max over heads and key positions of mean attention mass", l,
                    a.maxKeyMass());
        }
        if (s.cosine() != null) {
            f.gauge("vigil_token_cosine_similarity", "Mean pairwise cosine similarity of a sequence's token rows", l,
                    s.cosine().cosineSimilarity());
        }
        QuantSnapshot q = s.quant();
        if (q != null && q.count() > 0) {
            f.gauge("vigil_quant_min", "Window minimum", l, q.min());
            f.gauge("vigil_quant_max", "Window maximum", l, q.max());
            f.gauge("vigil_quant_abs_max", "Window max |x|", l, q.absMax());
            f.gauge("vigil_quant_abs_percentile", "Window percentile of |x|", l.add("q", "0.999"), q.absP999());
            f.gauge("vigil_quant_abs_percentile", "Window percentile of |x|", l.add("q", "0.9999"), q.absP9999());
            f.gauge("vigil_quant_abs_percentile", "Window percentile of |x|", l.add("q", "0.99999"), q.absP99999());
            f.gauge("vigil_quant_kurtosis", "Window kurtosis E[(x-mu)^4]/E[(x-mu)^2]^2", l, q.kurtosis());
            f.gauge("vigil_quant_int8_sqnr_db", "Symmetric per-tensor int8 SQNR in dB",
                    l.add("calibration", "absmax"), q.sqnrAbsMaxDb());
            f.gauge("vigil_quant_int8_sqnr_db", "Symmetric per-tensor int8 SQNR in dB",
                    l.add("calibration", "percentile"), q.sqnrPercentileDb());
            f.gauge("vigil_quant_outlier_channels", "Channels whose window abs max > outlier_threshold", l,
                    q.outlierChannels());
        }
        if (s.counters() != null) {
            counters(f, l, s);
        }
    }

    /** The SPEC §6 counters of one site. */
    private static void counters(Families f, Labels l, SiteSnapshot s) {
        SiteCounters c = s.counters();
        AttentionCounters a = c.attention();
        if (a != null) {
            for (int h = 0; h < a.queries().size(); h++) {
                Labels lh = l.add("head", Integer.toString(h));
                f.counter("vigil_attention_sink_mass", "Sum of attention probability on the first unmasked key", lh,
                        a.sinkMass().get(h));
                f.counter("vigil_attention_queries", "Unmasked queries in the sink mass", lh, a.queries().get(h));
                f.counter("vigil_attention_entropy_sum", "Sum of normalized attention entropy over queries", lh,
                        a.entropySum().get(h));
                f.counter("vigil_attention_entropy_queries", "Queries with more than one visible key", lh,
                        a.entropyQueries().get(h));
            }
            f.counter("vigil_attention_nonfinite_queries", "Query rows left out of the counters: not finite", l,
                    a.nonFiniteQueries());
        }
        CosineCounters cos = c.cosine();
        if (cos != null) {
            f.counter("vigil_token_cosine_shifted_sum", "Sum over sequences of 1 + mean pairwise token cosine", l,
                    cos.shiftedSum());
            f.counter("vigil_token_cosine_sequences", "Sequences in the token cosine sum", l, cos.sequences());
            f.counter("vigil_token_cosine_nonfinite_sequences", "Sequences left out of the sum: cosine not finite",
                    l, cos.nonFiniteSequences());
        }
        if (s.massive() != null) {
            f.counter("vigil_massive_first_token", "Massive elements at the first unmasked position since start", l,
                    c.massiveFirstToken());
        }
        QuantCounters q = c.quant();
        if (q != null) {
            f.counter("vigil_quant_values", "Finite values in the power sums", l, q.values());
            f.counter("vigil_quant_nonfinite_values", "Non-finite values left out of the power sums", l,
                    q.nonFinite());
            f.counter("vigil_quant_sum", "Sum of max(x,0) (sign=positive) or max(-x,0) (sign=negative)",
                    l.add("sign", "positive"), q.positiveSum());
            f.counter("vigil_quant_sum", "Sum of max(x,0) (sign=positive) or max(-x,0) (sign=negative)",
                    l.add("sign", "negative"), q.negativeSum());
            f.counter("vigil_quant_sum_squares", "Sum of x^2", l, q.sumSquares());
            f.counter("vigil_quant_sum_cubes", "Sum of max(x,0)^3 (sign=positive) or max(-x,0)^3 (sign=negative)",
                    l.add("sign", "positive"), q.positiveCubes());
            f.counter("vigil_quant_sum_cubes", "Sum of max(x,0)^3 (sign=positive) or max(-x,0)^3 (sign=negative)",
                    l.add("sign", "negative"), q.negativeCubes());
            f.counter("vigil_quant_sum_fourth_powers", "Sum of x^4", l, q.fourthPowers());
            f.histogram("vigil_quant_abs_value", "Distribution of |x| (native histogram)",
                    absValues(l, q.absValues(), q.positiveSum() + q.negativeSum()));
        }
    }

    private static HistogramDataPointSnapshot absValues(Labels l, AbsValueBuckets b, double sum) {
        int[] idx = new int[b.size()];
        long[] counts = new long[b.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = b.index(i);
            counts[i] = b.count(i);
        }
        return HistogramDataPointSnapshot.builder().labels(l).nativeSchema(AbsValueBuckets.SCHEMA)
                .nativeZeroThreshold(AbsValueBuckets.ZERO_THRESHOLD).nativeZeroCount(b.zeroCount())
                .nativeBucketsForPositiveValues(NativeHistogramBuckets.of(idx, counts)).sum(sum).build();
    }
}
