package dev.vigil.server.health;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.AttentionSnapshot;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.SiteSnapshot;
import dev.vigil.probes.stats.WindowInfo;
import dev.vigil.server.probe.ModelSnapshot;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * The body of {@code GET /api/health}: per probed model, the window its gauges cover, per site kind and layer the
 * {@link HealthStat}s with their {@link HealthLevel}s and the site's human name, the alarms and warnings found, and
 * the layer x head sink-score matrix, the last quantization advice ({@code quant_advice}, null before the first
 * {@code /quantized/report}); {@code ranking} orders the models by what needs attention (alarms, then
 * warnings). It reads the same snapshot as {@code /metrics}. Undefined values (NaN) are null; infinite ones the
 * strings {@code "+Inf"} / {@code "-Inf"}, as the probe endpoints write them.
 */
final class HealthView {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private HealthView() {
    }

    /**
     * The view of these models at {@code now}.
     *
     * @param quantAdvice a model's last quantization advice; null before the first
     */
    static ObjectNode of(List<ModelSnapshot> models, Function<String, JsonNode> quantAdvice, Instant now) {
        ObjectNode root = F.objectNode();
        root.put("generated_at", now.toString());
        ArrayNode ranking = root.putArray("ranking");
        ArrayNode out = root.putArray("models");
        List<ObjectNode> ranked = new ArrayList<>();
        for (ModelSnapshot m : models) {
            ObjectNode n = model(m);
            JsonNode advice = quantAdvice.apply(m.model());
            n.set("quant_advice", advice == null ? F.nullNode() : advice);
            out.add(n);
            ranked.add(n);
        }
        ranked.sort(Comparator.comparingInt((ObjectNode n) -> -n.path("alarms").asInt())
                .thenComparingInt(n -> -n.path("warnings").asInt())
                .thenComparing(n -> n.path("name").asText()));
        ranked.forEach(n -> ranking.add(n.path("name").asText()));
        return root;
    }

    private static ObjectNode model(ModelSnapshot m) {
        ProbeSnapshot snap = m.snapshot();
        ProbeSettings settings = m.settings();
        ObjectNode n = F.objectNode();
        n.put("name", m.model());
        WindowInfo w = snap.window();
        ObjectNode window = n.putObject("window");
        window.put("index", w.index());
        window.put("closed", w.closed());
        window.put("tokens", w.tokens());
        window.put("requests", w.requests());
        n.put("window_tokens", settings.windowTokens());
        n.put("open_window_tokens", snap.openWindowTokens());
        n.put("probed_requests", snap.probedRequests());
        ObjectNode thresholds = n.putObject("thresholds");
        thresholds.put("sink_epsilon", settings.sinkEpsilon());
        thresholds.put("dormant_tau", settings.dormantTau());
        thresholds.put("outlier_threshold", settings.outlierThreshold());
        thresholds.put("massive_median_ratio", settings.massiveMedianRatio());
        ArrayNode findings = F.arrayNode();
        ArrayNode kinds = n.putArray("kinds");
        for (SiteKind kind : SiteKind.values()) {
            ObjectNode k = kind(kind, m, findings);
            if (k != null) {
                kinds.add(k);
            }
        }
        List<JsonNode> sorted = new ArrayList<>();
        int alarms = 0;
        for (JsonNode f : findings) {
            sorted.add(f);
            alarms += isAlarm(f) ? 1 : 0;
        }
        // alarms first; within a level, discovery order (kind, then layer)
        sorted.sort(Comparator.comparingInt(f -> isAlarm(f) ? 0 : 1));
        n.put("alarms", alarms);
        n.put("warnings", sorted.size() - alarms);
        n.putArray("findings").addAll(sorted);
        n.set("sink_scores", sinkScores(m));
        return n;
    }

    /**
     * The layers x statistics table of one kind; null when the model has no site of that kind. Every warn or alarm
     * value is also added to {@code findings}.
     */
    private static ObjectNode kind(SiteKind kind, ModelSnapshot m, ArrayNode findings) {
        List<HealthStat> stats = HealthStat.forKind(kind);
        ArrayNode layers = F.arrayNode();
        for (SiteSnapshot s : m.snapshot().sites()) {
            if (s.site().kind() != kind) {
                continue;
            }
            ObjectNode layer = layers.addObject();
            layer.put("layer", s.site().layer());
            layer.put("name", m.name(s.site()));
            layer.put("tensor", s.site().tensor());
            ObjectNode values = layer.putObject("values");
            ObjectNode health = layer.putObject("health");
            for (HealthStat stat : stats) {
                double v = stat.of(s);
                JsonNode value = stat.count() && !Double.isNaN(v) ? F.numberNode((long) v) : number(v);
                values.set(stat.key(), value);
                HealthLevel level = stat.level(s, m.settings());
                health.put(stat.key(), level.label());
                if (level == HealthLevel.WARN || level == HealthLevel.ALARM) {
                    ObjectNode f = findings.addObject();
                    f.put("level", level.label());
                    f.put("kind", kind.label());
                    f.put("layer", s.site().layer());
                    f.put("name", m.name(s.site()));
                    f.put("stat", stat.key());
                    f.set("value", value);
                }
            }
        }
        if (layers.isEmpty()) {
            return null;
        }
        ObjectNode n = F.objectNode();
        n.put("kind", kind.label());
        ArrayNode keys = n.putArray("stats");
        stats.forEach(st -> keys.add(st.key()));
        n.set("layers", layers);
        return n;
    }

    private static boolean isAlarm(JsonNode finding) {
        return finding.path("level").asText().equals(HealthLevel.ALARM.label());
    }

    /** {@code vigil_attention_sink_score{head}} of every attention layer. */
    private static ObjectNode sinkScores(ModelSnapshot m) {
        ObjectNode n = F.objectNode();
        ArrayNode layers = F.arrayNode();
        int heads = 0;
        for (SiteSnapshot s : m.snapshot().sites()) {
            AttentionSnapshot a = s.attention();
            if (a == null) {
                continue;
            }
            ObjectNode layer = layers.addObject();
            layer.put("layer", s.site().layer());
            layer.put("name", m.name(s.site()));
            layer.put("tensor", s.site().tensor());
            ArrayNode scores = layer.putArray("heads");
            for (Double v : a.sinkScore()) {
                scores.add(number(v));
            }
            heads = Math.max(heads, a.sinkScore().size());
        }
        n.put("heads", heads);
        n.set("layers", layers);
        return n;
    }

    private static JsonNode number(double v) {
        if (Double.isNaN(v)) {
            return F.nullNode();
        }
        return Double.isInfinite(v) ? F.textNode(v > 0 ? "+Inf" : "-Inf") : F.numberNode(v);
    }
}
