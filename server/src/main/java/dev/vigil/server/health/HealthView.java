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
import java.util.List;

/**
 * The body of {@code GET /api/health}: per probed model, the window its gauges cover, per site kind and layer the
 * {@link HealthStat}s, and the layer x head sink-score matrix. It reads the same snapshot as {@code /metrics}.
 * Undefined values (NaN) are null; infinite ones the strings {@code "+Inf"} / {@code "-Inf"}, as the probe endpoints
 * write them.
 */
final class HealthView {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private HealthView() {
    }

    /** The view of these models at {@code now}. */
    static ObjectNode of(List<ModelSnapshot> models, Instant now) {
        ObjectNode root = F.objectNode();
        root.put("generated_at", now.toString());
        ArrayNode out = root.putArray("models");
        for (ModelSnapshot m : models) {
            out.add(model(m));
        }
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
        ArrayNode kinds = n.putArray("kinds");
        for (SiteKind kind : SiteKind.values()) {
            ObjectNode k = kind(kind, snap.sites());
            if (k != null) {
                kinds.add(k);
            }
        }
        n.set("sink_scores", sinkScores(snap.sites()));
        return n;
    }

    /** The layers x statistics table of one kind; null when the model has no site of that kind. */
    private static ObjectNode kind(SiteKind kind, List<SiteSnapshot> sites) {
        List<HealthStat> stats = HealthStat.forKind(kind);
        ArrayNode layers = F.arrayNode();
        for (SiteSnapshot s : sites) {
            if (s.site().kind() != kind) {
                continue;
            }
            ObjectNode layer = layers.addObject();
            layer.put("layer", s.site().layer());
            layer.put("tensor", s.site().tensor());
            ObjectNode values = layer.putObject("values");
            for (HealthStat stat : stats) {
                double v = stat.of(s);
                values.set(stat.key(), stat.count() && !Double.isNaN(v) ? F.numberNode((long) v) : number(v));
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

    /** {@code vigil_attention_sink_score{head}} of every attention layer. */
    private static ObjectNode sinkScores(List<SiteSnapshot> sites) {
        ObjectNode n = F.objectNode();
        ArrayNode layers = F.arrayNode();
        int heads = 0;
        for (SiteSnapshot s : sites) {
            AttentionSnapshot a = s.attention();
            if (a == null) {
                continue;
            }
            ObjectNode layer = layers.addObject();
            layer.put("layer", s.site().layer());
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
