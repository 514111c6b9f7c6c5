package dev.vigil.server.probe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.stats.AttentionInspection;
import dev.vigil.probes.stats.AttentionSnapshot;
import dev.vigil.probes.stats.DeadNeuronSnapshot;
import dev.vigil.probes.stats.MassiveSnapshot;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.QuantSnapshot;
import dev.vigil.probes.stats.RequestSummary;
import dev.vigil.probes.stats.SiteSnapshot;
import dev.vigil.probes.stats.WindowInfo;
import dev.vigil.server.shadow.ShadowSettings;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON bodies of the probe endpoints and of an inspected request's {@code probe_summary}. Undefined statistics
 * (NaN) are written as null; kinds as their SPEC labels.
 */
final class ProbeJson {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private ProbeJson() {
    }

    /** {@code GET /v2/models/{name}/probes}: the selected sites (empty when probing is disabled) and the settings. */
    static ObjectNode sites(ProbedModel model) {
        ObjectNode root = F.objectNode();
        root.put("name", model.name());
        root.put("enabled", model.probe() != null);
        root.put("strategy", model.reducesInGraph() ? ProbeStrategy.GRAPH.label() : ProbeStrategy.HOST.label());
        Map<String, List<Long>> observed = new HashMap<>();
        if (model.probe() != null) {
            for (SiteSnapshot s : model.probe().snapshot().sites()) {
                if (!s.observedShape().isEmpty()) {
                    observed.put(s.site().tensor(), s.observedShape());
                }
            }
        }
        ArrayNode sites = root.putArray("sites");
        if (model.probe() != null) {
            for (ProbeSite site : model.probe().sites()) {
                ObjectNode n = site(site);
                n.put("name", model.name(site));
                ArrayNode shape = n.putArray("shape");
                List<Long> seen = observed.get(site.tensor());
                if (seen != null) {
                    seen.forEach(shape::add);
                } else {
                    site.shape().forEach(shape::add);
                }
                n.put("pattern", site.pattern());
                sites.add(n);
            }
        }
        ObjectNode settings = settings(model.settings());
        ShadowSettings shadow = model.shadowSettings();
        ObjectNode sn = settings.putObject("shadow");
        sn.put("enabled", shadow.enabled());
        sn.put("sample_rate", shadow.sampleRate());
        sn.put("calibration", shadow.calibration().label());
        shadow.keepFp32().forEach(sn.putArray("keep_fp32")::add);
        shadow.classOutputs().forEach(sn.putArray("class_outputs")::add);
        sn.put("rebuild_seconds", shadow.rebuildSeconds());
        root.set("settings", settings);
        return root;
    }

    private static ObjectNode settings(ProbeSettings s) {
        ObjectNode n = F.objectNode();
        n.put("enabled", s.enabled());
        n.put("sample_rate", s.sampleRate());
        n.put("window_tokens", s.windowTokens());
        n.put("attention_mask_input", s.attentionMaskInput());
        s.include().forEach(n.putArray("include")::add);
        s.exclude().forEach(n.putArray("exclude")::add);
        ObjectNode massive = n.putObject("massive");
        massive.put("abs_threshold", s.massiveAbsThreshold());
        massive.put("median_ratio", s.massiveMedianRatio());
        n.putObject("sink").put("epsilon", s.sinkEpsilon());
        n.put("dormant_tau", s.dormantTau());
        n.put("outlier_threshold", s.outlierThreshold());
        return n;
    }

    /** {@code GET /v2/models/{name}/calibration}: per tensor, its ranges over the window they cover. */
    static ObjectNode calibration(ProbedModel model) {
        ObjectNode root = F.objectNode();
        root.put("name", model.name());
        ArrayNode tensors = root.putArray("tensors");
        if (model.probe() == null) {
            return root;
        }
        ProbeSnapshot snap = model.probe().snapshot();
        WindowInfo w = snap.window();
        ObjectNode window = root.putObject("window");
        window.put("index", w.index());
        window.put("tokens", w.tokens());
        window.put("requests", w.requests());
        window.put("closed", w.closed());
        for (Map.Entry<String, QuantSnapshot> e : snap.quantByTensor().entrySet()) {
            ObjectNode n = quant(e.getValue());
            n.put("tensor", e.getKey());
            n.set("window", window.deepCopy());
            tensors.add(n);
        }
        return root;
    }

    private static ObjectNode quant(QuantSnapshot q) {
        ObjectNode n = F.objectNode();
        n.put("count", q.count());
        n.put("channels", q.channels());
        num(n, "min", q.min());
        num(n, "max", q.max());
        num(n, "abs_max", q.absMax());
        ObjectNode p = n.putObject("abs_percentiles");
        num(p, "0.999", q.absP999());
        num(p, "0.9999", q.absP9999());
        num(p, "0.99999", q.absP99999());
        num(n, "kurtosis", q.kurtosis());
        ObjectNode sqnr = n.putObject("int8_sqnr_db");
        num(sqnr, "absmax", q.sqnrAbsMaxDb());
        num(sqnr, "percentile", q.sqnrPercentileDb());
        n.put("outlier_channels", q.outlierChannels());
        return n;
    }

    /** An inspected request's own statistics, per site. */
    static ObjectNode summary(RequestSummary summary) {
        ObjectNode root = F.objectNode();
        root.put("unmasked_tokens", summary.unmaskedTokens());
        ArrayNode sites = root.putArray("sites");
        for (SiteSnapshot s : summary.sites()) {
            ObjectNode n = site(s.site());
            s.observedShape().forEach(n.putArray("shape")::add);
            if (s.quant() != null) {
                num(n, "abs_max", s.quant().absMax());
                num(n, "min", s.quant().min());
                num(n, "max", s.quant().max());
            }
            DeadNeuronSnapshot d = s.dead();
            if (d != null) {
                ObjectNode dead = n.putObject("dead");
                dead.put("neurons", d.neurons());
                dead.put("rows", d.rows());
                dead.put("dead_count", d.deadCount());
                num(dead, "dead_ratio", d.deadRatio());
                dead.put("dormant_count", d.dormantCount());
                num(dead, "dormant_ratio", d.dormantRatio());
            }
            MassiveSnapshot m = s.massive();
            if (m != null) {
                ObjectNode massive = n.putObject("massive");
                massive.put("hits", m.total());
                num(massive, "ratio", m.ratio());
                num(massive, "first_token_fraction", m.firstTokenFraction());
                ObjectNode channels = massive.putObject("channel_hits");
                m.channelHits().forEach(channels::put);
            }
            AttentionSnapshot a = s.attention();
            if (a != null) {
                ObjectNode att = n.putObject("attention");
                att.put("heads", a.heads());
                att.put("queries", a.queries());
                doubles(att.putArray("sink_score"), a.sinkScore());
                num(att, "sink_heads_ratio", a.sinkHeadsRatio());
                doubles(att.putArray("entropy"), a.entropy());
                num(att, "max_key_mass", a.maxKeyMass());
            }
            if (s.cosine() != null) {
                num(n, "token_cosine_similarity", s.cosine().cosineSimilarity());
            }
            sites.add(n);
        }
        return root;
    }

    /**
     * An inspected request's attention picture ({@code inspect_attention}): the head's probabilities over the first
     * sequence's unmasked queries x keys, and per residual site the L2 norm of each unmasked token row.
     *
     * @param tokens the first text's tokens (a text request), or null
     */
    static ObjectNode attention(AttentionInspection a, String[] tokens, ProbedModel model) {
        ObjectNode root = site(a.site());
        root.put("name", model.name(a.site()));
        root.put("head", a.head());
        root.put("heads", a.heads());
        ints(root.putArray("query_positions"), a.queries());
        ints(root.putArray("key_positions"), a.keys());
        if (tokens != null && tokens.length == a.keys().length) {
            ArrayNode t = root.putArray("tokens");
            for (String token : tokens) {
                t.add(token);
            }
        }
        ArrayNode rows = root.putArray("probabilities");
        for (float[] row : a.probabilities()) {
            ArrayNode r = rows.addArray();
            for (float p : row) {
                r.add(p);
            }
        }
        ArrayNode residuals = root.putArray("residual_norms");
        for (AttentionInspection.ResidualNorms r : a.residuals()) {
            ObjectNode n = site(r.site());
            n.put("name", model.name(r.site()));
            ints(n.putArray("positions"), r.positions());
            ArrayNode norms = n.putArray("norms");
            for (double v : r.norms()) {
                norms.add(v);
            }
            residuals.add(n);
        }
        return root;
    }

    private static void ints(ArrayNode array, int[] values) {
        for (int v : values) {
            array.add(v);
        }
    }

    private static ObjectNode site(ProbeSite site) {
        ObjectNode n = F.objectNode();
        n.put("kind", site.kind().label());
        n.put("layer", site.layer());
        n.put("tensor", site.tensor());
        return n;
    }

    private static void doubles(ArrayNode array, List<Double> values) {
        for (Double v : values) {
            array.add(value(v));
        }
    }

    private static void num(ObjectNode n, String key, double v) {
        n.set(key, value(v));
    }

    private static JsonNode value(double v) {
        return Double.isNaN(v) ? F.nullNode() : Double.isInfinite(v) ? F.textNode(v > 0 ? "+Inf" : "-Inf")
                : F.numberNode(v);
    }
}
