package dev.vigil.server.probe;

import dev.vigil.probes.stats.AttentionSnapshot;
import dev.vigil.probes.stats.DeadNeuronSnapshot;
import dev.vigil.probes.stats.MassiveSnapshot;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.QuantSnapshot;
import dev.vigil.probes.stats.SiteSnapshot;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The probe metrics of SPEC §5, read from every model's published {@code ProbeSnapshot} at scrape time (the worker
 * never touches Prometheus objects). Undefined values (NaN) are left out rather than exported.
 */
final class ProbeMetrics implements MultiCollector {
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
            return out.build();
        }
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
            f.counter("vigil_probe_dropped", "Sampled requests not probed because the probe queue was full", m,
                    model.dropped());
            f.gauge("vigil_window_tokens", "Unmasked tokens in the current open statistics window", m,
                    model.probe().openWindowTokens());
            for (SiteSnapshot s : snap.sites()) {
                site(f, model.name(), s);
            }
        }
        return f.build();
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
    }
}
